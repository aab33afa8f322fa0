// The lab device applier's host ports (attach): an access port follows its VNI's segment, a WAN link
// joins its VRF. The kernels here have no VRF support (lab-facts.md), so the VRF branch cannot run
// in a namespace on this machine: a recording stand-in for the data plane reports the capabilities
// and records the commands. The segment branch also runs for real in lab-infra.test.ts.
import { describe, expect, it } from 'vitest';
import { emptyConfig, normalizeConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import type { Command } from '../../src/dataplane/linux/command-runner.ts';
import { vrfDeviceName } from '../../src/dataplane/linux/names.ts';
import { attach, type AttachPlane } from '../../src/lab/device-applier.ts';

function plane(vrf: boolean, ports: { port: string; vni: number }[] = []) {
  const did: string[] = [];
  const dp: AttachPlane = {
    capabilities: () => Promise.resolve({ vrf, vlan8021q: false }),
    readPorts: () => Promise.resolve(ports),
    attachPort: (p) => Promise.resolve(void did.push(`attach ${p.port} ${p.vni}`)),
    detachPort: (port) => Promise.resolve(void did.push(`detach ${port}`)),
    runner: { run: (c: Command) => Promise.resolve(void did.push([c.tool, ...c.args].join(' '))).then(() => ({ stdout: '', stderr: '' })) },
  };
  return { dp, did };
}

const config: DeviceConfig = normalizeConfig({
  ...emptyConfig(),
  vlans: [{ id: 1000, name: 'acme' }],
  vrfs: [{ name: 'acme', rd: '65000:5001', importTargets: ['65000:5001'], exportTargets: ['65000:5001'] }],
  vnis: [{ vni: 5001, vlan: 1000, encapsulation: 'vxlan', vrf: 'acme' }],
});
const attachments = [
  { port: 'h-legacy1', vni: 5001 },
  { port: 'h-wanhost', vrf: 'acme' },
];

describe('lab device applier: host ports follow the configuration', () => {
  it('puts the WAN link into its VRF where the kernel has VRFs, and the access port into its segment', async () => {
    const { dp, did } = plane(true);
    await attach(dp, { attachments }, config);
    expect(did).toEqual(['attach h-legacy1 5001', `ip link set dev h-wanhost master ${vrfDeviceName('acme')}`]);
  });

  it('leaves the WAN link in the main table without kernel VRFs, and while its VRF is not configured', async () => {
    const none = plane(false);
    await attach(none.dp, { attachments }, config);
    expect(none.did).toEqual(['attach h-legacy1 5001']);
    const noVrf = plane(true, [{ port: 'h-legacy1', vni: 5001 }]);
    await attach(noVrf.dp, { attachments }, { ...config, vrfs: [] });
    expect(noVrf.did).toEqual([]);
  });

  it('takes the access port out when its VNI goes, and leaves it alone when it is already in place', async () => {
    const gone = plane(false, [{ port: 'h-legacy1', vni: 5001 }]);
    await attach(gone.dp, { attachments }, emptyConfig());
    expect(gone.did).toEqual(['detach h-legacy1']);
    const inPlace = plane(false, [{ port: 'h-legacy1', vni: 5001 }]);
    await attach(inPlace.dp, { attachments }, config);
    expect(inPlace.did).toEqual([]);
  });
});
