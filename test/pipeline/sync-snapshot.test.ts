// The delta read of a sync (only contributions newer than the applied revision, on top of the applied
// configuration) must plan exactly what reading every contribution plans. Random sessions come, are
// rewritten (a MAC moves) and go, with refusals now and then, against a real Redis; at every sync both
// reads are compared, and the applied revision moves on as a sync would move it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { pendingOf, readFullSnapshot, readSnapshot, settledOf, targetOf } from '../../src/pipeline/sync-snapshot.ts';
import { SyncRecords } from '../../src/pipeline/sync-records.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(() => t.cleanup());

// A small deterministic generator, so a failure can be replayed.
function rng(seed: number) {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function fragment(owner: number, vtep: number): DeviceConfig {
  const vlan = 10 + (owner % 3); // shared by several owners: it stays while any of them does
  return {
    ...emptyConfig(),
    vlans: [{ id: vlan, name: `v${vlan}` }],
    vnis: [{ vni: 5000 + vlan, vlan, encapsulation: 'vxlan' }],
    macs: [{ vni: 5000 + vlan, mac: `02:00:00:00:00:${owner.toString(16).padStart(2, '0')}`, vtep: `192.0.2.${vtep}` }],
  };
}

describe('delta snapshot', () => {
  it('plans the same target, pending set and settled union as the full read, through adds, rewrites, removals and refusals', async () => {
    const store = new DeviceStateStore(t.redis, t.k);
    const records = new SyncRecords(t.redis, t.k);
    const device = 'tor1';
    const next = rng(7);
    const live = new Set<number>();
    let deltas = 0;
    let fulls = 0;
    for (let step = 0; step < 400; step++) {
      const r = next();
      const owner = Math.floor(next() * 40);
      if (r < 0.55) {
        await store.setContribution(device, `session:s${owner}`, fragment(owner, 1 + Math.floor(next() * 5)));
        live.add(owner);
      } else if (r < 0.7) {
        await store.setContribution(device, `session:s${owner}`, null);
        live.delete(owner);
      } else if (r < 0.73 && live.size) {
        // a refusal of one pending owner, as a sync's isolation leaves it; lifted when the owner goes
        const full = await readFullSnapshot(t.redis, t.k, device);
        const victim = pendingOf(full)[0];
        if (victim) await records.refuse(device, new Map([[victim.owner, { seq: victim.seq, device, code: 'invalid-value', message: 'no', at: new Date().toISOString() }]]));
      } else {
        const delta = await readSnapshot(t.redis, t.k, device);
        const full = await readFullSnapshot(t.redis, t.k, device);
        if (delta.settled) deltas++;
        else fulls++;
        expect(delta.revision).toBe(full.revision);
        expect(targetOf(delta)).toEqual(targetOf(full));
        expect(pendingOf(delta).map((c) => c.owner)).toEqual(pendingOf(full).map((c) => c.owner));
        expect(settledOf(delta)).toEqual(settledOf(full));
        await records.dropRefusals(device, full.staleQuarantine);
        await store.recordApplied(device, full.revision, targetOf(full), { committed: true });
      }
    }
    // both paths were really taken
    expect(deltas).toBeGreaterThan(10);
    expect(fulls).toBeGreaterThan(3);
    const desired = await store.desired(device);
    expect(targetOf(await readFullSnapshot(t.redis, t.k, device)).macs.length).toBeLessThanOrEqual(desired.config.macs.length);
  });

  it('reads everything once after state written by a version without the seq index (an upgrade)', async () => {
    const store = new DeviceStateStore(t.redis, t.k);
    const device = 'gw9';
    // What the previous version's SET_CONTRIBUTION left: fragments and desiredRev, no index, no reshapedRev.
    const old = async (owner: string, frag: DeviceConfig | null) => {
      const rev = await t.redis.hincrby(t.k.deviceState(device), 'desiredRev', 1);
      if (frag) await t.redis.hset(t.k.deviceContrib(device), owner, JSON.stringify({ seq: rev, config: frag }));
      else await t.redis.hdel(t.k.deviceContrib(device), owner);
    };
    await old('session:a', fragment(1, 1));
    await old('session:b', fragment(2, 1));
    const first = await readFullSnapshot(t.redis, t.k, device);
    await store.recordApplied(device, first.revision, targetOf(first), { committed: true });
    // both removed before the upgrade, never synced: the index (empty) and the hash (empty) agree
    await old('session:a', null);
    await old('session:b', null);
    await store.setContribution(device, 'session:c', fragment(3, 2)); // the first write of the new version
    const delta = await readSnapshot(t.redis, t.k, device);
    expect(delta.settled).toBeUndefined();
    expect(targetOf(delta).macs.map((m) => m.mac)).toEqual(['02:00:00:00:00:03']);
  });
});
