// A device that stops answering, in the whole chain (chain.ts): netsim drops every session to
// the WAN gateway, the sync is retried with backoff until the session's deadline, and the network
// proxy answers 504 naming the device and its last error — then rolls the session back: the devices
// that took their part give it back, and its allocation is released.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allocator } from '../../src/alloc/allocator.ts';
import { normalizeConfig } from '../../src/model/device-config.ts';
import { inviteDuration } from '../../src/pipeline/metrics.ts';
import { CHAIN_DEVICES as ids, startNetsimChain } from './chain.ts';

const DEADLINE_MS = 8000;
let c: Awaited<ReturnType<typeof startNetsimChain>>;
beforeAll(async () => {
  // Attempts enough to outlast the outage: the device must come back through retries, not a sweep.
  c = await startNetsimChain({ syncDeadlineMs: DEADLINE_MS, retry: { attempts: 10_000, baseDelayMs: 100, maxDelayMs: 500 } });
}, 120_000);
afterAll(async () => {
  await c?.close();
});

const invites = async (status: string) => (await inviteDuration.get()).values.find((v) => v.metricName === 'nvo_invite_duration_seconds_count' && v.labels.status === status)?.value ?? 0;

describe('a device unreachable past the session deadline', () => {
  it('answers 504 with the device and its last error, and rolls the session back everywhere', async () => {
    const { client, fleet, pipeline, t } = c;
    expect((await client.invite({ mac: '02:00:00:00:01:01' }, 'acme')).status).toBe(200);
    const before = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await c.running(id)] as const)));
    expect(before.wan1!.vnis.map((v) => v.vni)).toEqual([5001]);

    // From now on the WAN gateway drops every session at its first RPC: nothing reaches it.
    fleet.inject(fleet.ports[1]!, { kind: 'drop-session', count: 1_000_000 });
    const late = await client.invite({ mac: '02:00:00:00:02:01' }, 'globex');
    expect(late.status).toBe(504);
    // The tenant proxy names the branch; the rest is the network proxy's answer, with what the driver saw last.
    expect(late.reason).toMatch(new RegExp(`^branch np1: wan1 did not apply the change within ${DEADLINE_MS} ms \\(last error: wan1: [^)]*NETCONF session \\d+ closed\\)$`));
    expect(await invites('5xx')).toBe(1);
    // The devices that answered took the session and gave it back already; the allocation is gone.
    for (const id of ['tor1', 'tgw1']) {
      await c.settled(id);
      expect(await c.running(id)).toEqual(before[id]);
    }
    expect(await new Allocator(t.redis, t.k).vlanOf('globex', 'pod1')).toBeNull();
    // Nothing of the session ever reached wan1, so once it is taken out of wan1's desired state the
    // sync has nothing to send: wan1 is in sync again while still unreachable.
    await c.settled('wan1');
    expect(normalizeConfig((await pipeline.store.desired('wan1')).config)).toEqual(before.wan1);

    // The WAN gateway comes back: what it has is what it had, and nvo's record agrees.
    fleet.inject(fleet.ports[1]!, { kind: 'clear' });
    for (const id of ids) {
      await c.settled(id);
      expect(await c.running(id)).toEqual(before[id]);
      expect(normalizeConfig((await pipeline.store.desired(id)).config)).toEqual(before[id]);
    }
    expect(JSON.stringify(await c.running('wan1'))).not.toContain('globex');
  }, 120_000);
});
