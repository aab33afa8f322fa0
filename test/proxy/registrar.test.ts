// The registrar (issue 9, item 3) on the real stack: REGISTER's expiry is clamped to the proxy's range
// and moves with each refresh; expires 0 de-registers at once; when a registration ends, the NVE's
// sessions stay for the grace period and then go with everything they held — MAC entries, VNI
// membership, the pod's VLAN binding and the devices' desired state — while other NVEs' stay.
// Waits are polls with generous timeouts (a loaded 2-core machine); nothing is timed.
import { afterEach, describe, expect, it } from 'vitest';
import { emptyConfig } from '../../src/model/device-config.ts';
import { Membership } from '../../src/proxy/network/membership.ts';
import { Registrar } from '../../src/proxy/tenant/registrar.ts';
import { startStack, type Stack } from './harness.ts';

const GRACE_MS = 20_000;
let s: Stack;
afterEach(() => s?.close().then(() => s.inventory.close()));

describe('the registrar', () => {
  it('clamps and refreshes the expiry, de-registers with 0, and ends sessions only after the grace period', async () => {
    s = await startStack({ graceMs: GRACE_MS, expires: { min: 1, max: 600, default: 60 } });
    const registrar = new Registrar(s.t.redis, s.t.k);
    const members = new Membership(s.t.redis, s.t.k);
    const [h1, h2, h3] = [await s.agent('h1'), await s.agent('h2'), await s.agent('h3')];

    // Clamped to the range, and each refresh moves the expiry (hash and the reaper's sorted set).
    expect((await h1.register(100_000)).body).toMatchObject({ expires: 600 });
    const first = (await registrar.get('h1'))!;
    const firstScore = Number(await s.t.redis.zscore(s.t.k.registrationExpiry, 'h1'));
    expect(firstScore).toBe(Date.parse(first.expiresAt));
    expect((await h1.register(60)).body).toMatchObject({ expires: 60 });
    const shorter = Date.parse((await registrar.get('h1'))!.expiresAt);
    expect(shorter).toBeLessThan(Date.parse(first.expiresAt));
    expect((await h1.register(120)).body).toMatchObject({ expires: 120 });
    const refreshed = (await registrar.get('h1'))!;
    expect(Date.parse(refreshed.expiresAt)).toBeGreaterThan(shorter);
    expect(Date.parse(refreshed.expiresAt)).toBeLessThan(Date.parse(first.expiresAt));
    expect(Number(await s.t.redis.zscore(s.t.k.registrationExpiry, 'h1'))).toBe(Date.parse(refreshed.expiresAt));
    expect(await s.t.redis.pttl(s.t.k.registration('h1'))).toBeGreaterThan(60_000);

    for (const h of [h2, h3]) expect((await h.register(600)).status).toBe(200);
    const m1 = '02:00:00:00:11:01';
    const m2 = '02:00:00:00:11:02';
    const m3 = '02:00:00:00:11:03';
    const [a1, a2, a3] = [await h1.invite({ mac: m1 }, 'acme'), await h2.invite({ mac: m2 }, 'acme'), await h3.invite({ mac: m3 }, 'acme')];
    for (const a of [a1, a2, a3]) expect(a.status, a.reason).toBe(200);
    // What h3's session alone holds: the state to come back to once h1 and h2 are gone.
    const wanWithAll = (await s.state.desired('wan1')).config;
    expect(wanWithAll.macs.map((m) => m.mac)).toEqual([m1, m2, m3]);

    // h2 de-registers: gone at once (refused like any unregistered NVE), its session still there.
    expect((await h2.register(0)).body).toEqual({ expires: 0 });
    const h2Gone = Number(await s.t.redis.zscore(s.t.k.registrationExpiry, 'h2'));
    expect(await registrar.get('h2')).toBeNull();
    expect((await h2.options()).status).toBe(403);
    const late = await h2.invite({ mac: '02:00:00:00:11:09' }, 'acme');
    expect(late.status).toBe(403);
    expect(late.reason).toBe('h2 is not registered: REGISTER first');
    // h1's registration runs out (1 s, the minimum).
    expect((await h1.register(1)).body).toMatchObject({ expires: 1 });
    await expect.poll(() => registrar.get('h1'), { timeout: 30_000, interval: 50 }).toBeNull();

    // Inside the grace period the sessions are untouched. The reads come first and the clock after
    // them: if it still shows the earliest grace period (h2's) running, both reads were inside it.
    // GRACE_MS leaves a loaded machine many seconds for the reads above; were it ever too short, this
    // fails on the clock, not on the sessions.
    const graceEnds = h2Gone + GRACE_MS;
    const sessionsInGrace = (await s.t.redis.smembers(s.t.k.sessionIndex)).sort();
    const macsInGrace = (await members.members('acme')).map((m) => m.mac).sort();
    expect(h2Gone).toBeGreaterThan(0);
    expect(Date.now()).toBeLessThan(graceEnds);
    expect(sessionsInGrace).toEqual([a1.callId, a2.callId, a3.callId].sort());
    expect(macsInGrace).toEqual([m1, m2, m3]);

    // After it: h1's and h2's sessions and all they held are gone; h3's stay.
    await expect.poll(async () => (await s.t.redis.smembers(s.t.k.sessionIndex)).sort(), { timeout: GRACE_MS + 40_000, interval: 100 }).toEqual([a3.callId]);
    expect(await s.t.redis.smembers(s.t.k.sessionsOfNve('h1'))).toEqual([]);
    expect(await s.t.redis.smembers(s.t.k.sessionsOfNve('h2'))).toEqual([]);
    expect(await s.t.redis.zscore(s.t.k.registrationExpiry, 'h1')).toBeNull();
    expect(await s.t.redis.zscore(s.t.k.registrationExpiry, 'h2')).toBeNull();
    expect((await members.members('acme')).map((m) => ({ mac: m.mac, nve: m.nve, vtep: m.vtep }))).toEqual([{ mac: m3, nve: 'h3', vtep: '198.51.100.203' }]);
    expect(await s.t.redis.exists(s.t.k.vlanBinding('acme', 'pod1'))).toBe(0);
    expect(await s.t.redis.exists(s.t.k.vlanBinding('acme', 'pod2'))).toBe(1);
    // pod1's ToRs carry nothing any more; the gateways only what h3's VM needs.
    expect((await s.state.desired('tor1')).config).toEqual(emptyConfig());
    expect((await s.state.desired('tor2')).config).toEqual(emptyConfig());
    const wan = (await s.state.desired('wan1')).config;
    expect(wan.macs).toEqual([{ vni: 5001, mac: m3, vtep: '198.51.100.203' }]);
    expect(wan.floods).toEqual([{ vni: 5001, vtep: '198.51.100.203' }]);
    expect((await s.state.desired('tgw1')).config.macs).toEqual([{ vni: 5001, mac: m3, vtep: '198.51.100.203' }]);
    // The hNVE still in the VNI heard of both departures.
    await expect
      .poll(() => h3.notifications.flatMap((n) => ((n.body.entries as { removed: { mac: string }[] }[] | undefined) ?? []).flatMap((e) => e.removed.map((r) => r.mac))).sort(), { timeout: 10_000 })
      .toEqual([m1, m2]);
  }, 150_000);
});
