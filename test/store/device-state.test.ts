import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';

let t: TestRedis;
let store: DeviceStateStore;
beforeAll(async () => {
  t = await testRedis();
  store = new DeviceStateStore(t.redis, t.k);
});
afterAll(() => t.cleanup());

const frag = (patch: Partial<DeviceConfig>): DeviceConfig => ({ ...emptyConfig(), ...patch });

describe('device state', () => {
  it('unions contributions, keeps shared entries until the last owner goes, newest wins on conflict', async () => {
    const vlan = { id: 100, name: 'acme' };
    expect(await store.setContribution('tor1', 's1', frag({ vlans: [vlan], macs: [{ vni: 5000, mac: '02:00:00:00:00:01', vtep: '192.0.2.1' }] }))).toBe(1);
    expect(await store.setContribution('tor1', 's2', frag({ vlans: [vlan], macs: [{ vni: 5000, mac: '02:00:00:00:00:02', vtep: '192.0.2.2' }] }))).toBe(2);
    let d = await store.desired('tor1');
    expect(d.revision).toBe(2);
    expect(d.config.vlans).toEqual([vlan]);
    expect(d.config.macs.map((m) => m.mac)).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02']);

    await store.setContribution('tor1', 'move', frag({ macs: [{ vni: 5000, mac: '02:00:00:00:00:01', vtep: '192.0.2.9' }] }));
    d = await store.desired('tor1');
    expect(d.config.macs.find((m) => m.mac === '02:00:00:00:00:01')!.vtep).toBe('192.0.2.9');

    await store.setContribution('tor1', 'move', null);
    await store.setContribution('tor1', 's1', null);
    d = await store.desired('tor1');
    expect(d.config.vlans).toEqual([vlan]);
    expect(d.config.macs.map((m) => m.mac)).toEqual(['02:00:00:00:00:02']);
    await store.setContribution('tor1', 's2', null);
    d = await store.desired('tor1');
    expect(d.config).toEqual(emptyConfig());
    expect(d.revision).toBe(6);
    // Removing an owner that has nothing changes nothing.
    expect(await store.setContribution('tor1', 'nobody', null)).toBe(6);
  });

  it('records applied revisions monotonically and reports sync state', async () => {
    await store.setContribution('wan1', 's1', frag({ vlans: [{ id: 7, name: 'x' }] }));
    expect((await store.status('wan1')).syncState).toBe('pending');
    const d = await store.desired('wan1');
    expect(await store.recordApplied('wan1', d.revision, d.config, { committed: true })).toBe(true);
    expect(await store.recordApplied('wan1', d.revision - 1, emptyConfig(), { committed: true })).toBe(false);
    const s = await store.status('wan1');
    expect(s).toMatchObject({ syncState: 'in-sync', appliedRevision: 1, desiredRevision: 1, commits: 1 });
    expect((await store.applied('wan1')).config.vlans).toEqual([{ id: 7, name: 'x' }]);
    expect(await store.devices()).toEqual(['tor1', 'wan1']);
  });

  it('reports syncing only while a worker holds the device lease', async () => {
    await store.setSyncing('wan1', true);
    // A worker killed mid-sync leaves the flag; without its lease the device is not busy.
    expect((await store.status('wan1')).syncState).toBe('in-sync');
    await t.redis.set(t.k.syncLock('wan1'), '1', 'PX', 5000);
    expect((await store.status('wan1')).syncState).toBe('syncing');
    await t.redis.del(t.k.syncLock('wan1'));
    await store.setSyncing('wan1', false);
  });
});
