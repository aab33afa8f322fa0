// nvo's NETCONF driver (device-ops with the nvo3-lab dialect: lock, edit, validate, confirmed
// commit, confirm, read-back) against netsim, and a refused commit surfacing the device's own words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToDevice, getRunning } from '../../src/drivers/netconf/device-ops.ts';
import { deviceSchema, type Device } from '../../src/model/device.ts';
import { diffConfig, emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { testFleet } from './support.ts';

let fleet: Fleet;
beforeAll(async () => {
  fleet = await testFleet({ devices: 2 });
});
afterAll(async () => {
  await fleet?.stop();
});

const deviceAt = (port: number): Device =>
  deviceSchema.parse({
    id: `tor-${port}`,
    role: 'tor',
    driver: 'netconf',
    dialect: 'nvo3-lab',
    vtep: '192.0.2.11',
    management: { host: fleet.host, port, username: fleet.username, password: fleet.password, hostKey: fleet.hostKey(port), hostKeyCheck: 'pinned' },
  });

const v1: DeviceConfig = {
  ...emptyConfig(),
  vrfs: [{ name: 'red', rd: '65000:10', importTargets: ['65000:10'], exportTargets: ['65000:10'] }],
  vlans: [{ id: 10, name: 'tenant-a' }, { id: 20, name: 'tenant-b' }],
  vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan', vrf: 'red', mcastGroup: '239.1.1.10' }, { vni: 5020, vlan: 20, encapsulation: 'vxlan' }],
  floods: [{ vni: 5010, vtep: '192.0.2.12' }],
  macs: [{ vni: 5010, mac: '02:00:00:00:00:01', vtep: '192.0.2.12' }],
  irbs: [{ vlan: 10, vrf: 'red', address: '198.51.100.1/24' }],
};
const v2: DeviceConfig = { ...v1, vlans: [{ id: 10, name: 'tenant-a-renamed' }], vnis: [v1.vnis[0]!] };

describe('the NETCONF driver against netsim', () => {
  it('adds, changes and deletes, and reads back what it asked for', async () => {
    const device = deviceAt(fleet.ports[0]!);
    let applied = emptyConfig();
    for (const desired of [v1, v2, emptyConfig()]) {
      const res = await applyToDevice(device, diffConfig(applied, desired));
      expect(res.readBack).toEqual(diffConfig(emptyConfig(), desired).merge);
      expect((await getRunning(device)).config).toEqual(res.readBack);
      applied = desired;
    }
    expect(fleet.status()[0]!.stats.commits).toBeGreaterThanOrEqual(3);
  });

  it('a refused commit fails with the device error and leaves the running configuration as it was', async () => {
    const port = fleet.ports[1]!;
    const device = deviceAt(port);
    await applyToDevice(device, diffConfig(emptyConfig(), v2));
    fleet.inject(port, { kind: 'refuse-commit', count: 5, error: { tag: 'resource-denied', message: 'TCAM full' } });
    const err = await applyToDevice(device, diffConfig(v2, v1)).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toContain('TCAM full');
    fleet.inject(port, { kind: 'clear' });
    expect((await getRunning(device)).config).toEqual(diffConfig(emptyConfig(), v2).merge);
  });
});
