// The pure half of the Linux data plane, no root needed: names, marks, validation and the command plan.
import { describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { emptyConfig, normalizeConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { emptyKernelState } from '../../src/dataplane/linux/kernel-state.ts';
import { bridgeName, decodeMark, encodeMark, IFNAMSIZ, nameForMark, trunkVlanName, vrfDeviceName, vxlanName, checkIfName } from '../../src/dataplane/linux/names.ts';
import { nameConflicts, plan, type PlanSettings } from '../../src/dataplane/linux/plan.ts';
import { validateChange, validateConfig } from '../../src/dataplane/linux/validate.ts';

const set: PlanSettings = { localVtep: '203.0.113.1', underlayDev: 'ul0', dstPort: 4789, kernelVrf: false };
const cfg: DeviceConfig = normalizeConfig({
  ...emptyConfig(),
  vlans: [{ id: 10, name: 'a' }],
  vrfs: [{ name: 'red', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] }],
  vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan' }],
  floods: [{ vni: 5010, vtep: '203.0.113.2' }],
  macs: [{ vni: 5010, mac: '02:00:5e:00:02:02', vtep: '203.0.113.2' }],
  irbs: [{ vlan: 10, vrf: 'red', address: '192.0.2.1/24' }],
});

describe('device names and marks', () => {
  it('fit IFNAMSIZ at the largest keys and are the same every time', () => {
    for (const n of [bridgeName(4094), vxlanName(16_777_215), trunkVlanName(4094), vrfDeviceName('x'.repeat(64))]) {
      expect(n.length).toBeLessThanOrEqual(IFNAMSIZ);
      expect(() => checkIfName(n, 'n')).not.toThrow();
    }
    expect(vrfDeviceName('red')).toBe(vrfDeviceName('red'));
    expect(vrfDeviceName('red')).not.toBe(vrfDeviceName('blue'));
  });

  it('read back the mark they were given and nothing else', () => {
    const m = { t: 'vni' as const, vni: 5010, vlan: 10, encapsulation: 'vxlan' };
    expect(decodeMark(encodeMark(m))).toEqual(m);
    expect(nameForMark(m)).toBe('nvox5010');
    for (const foreign of [undefined, '', 'nvo', 'nvo1 {', 'nvo1 {"t":"other"}', 'my bridge']) expect(decodeMark(foreign)).toBeNull();
  });

  it('refuse interface names that could be read as options or paths', () => {
    for (const bad of ['-n', 'a/b', 'eth0 up', 'x'.repeat(16), '', 'a;b']) expect(() => checkIfName(bad, 'port')).toThrow(NvoError);
  });
});

describe('validation', () => {
  const rules = { localVtep: '203.0.113.1' };
  it('canonicalizes MACs and accepts a consistent config', () => {
    const c = validateConfig({ ...cfg, macs: [{ vni: 5010, mac: '02-00-5E-00-02-02', vtep: '203.0.113.2' }] }, rules);
    expect(c.macs).toEqual([{ vni: 5010, mac: '02:00:5e:00:02:02', vtep: '203.0.113.2' }]);
  });

  it('names the field at fault', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...cfg, vnis: [{ vni: 5010, vlan: 10, encapsulation: 'nvgre' }] }, 'vnis[0].encapsulation', /only vxlan/],
      [{ ...cfg, vnis: [...cfg.vnis, { vni: 5011, vlan: 10, encapsulation: 'vxlan' }] }, 'vnis[1].vlan', /already bound to VNI 5010/],
      [{ ...cfg, floods: [{ vni: 5010, vtep: '203.0.113.1' }] }, 'floods[0].vtep', /local VTEP itself/],
      [{ ...cfg, floods: [{ vni: 5010, vtep: '2001:db8::1' }] }, 'floods[0].vtep', /IPv4/],
      [{ ...cfg, irbs: [{ vlan: 10, vrf: 'blue', address: '192.0.2.1/24' }] }, 'irbs[0].vrf', /not configured/],
      [{ ...cfg, vlans: [{ id: 4095, name: 'a' }] }, 'vlans[0].id', /1\.\.4094/],
      [{ ...cfg, extra: [] }, '', /extra/],
    ];
    for (const [input, field, re] of cases) {
      const err = (() => {
        try {
          validateConfig(input, rules);
        } catch (e) {
          return e as NvoError;
        }
        return null;
      })();
      expect(err?.code, field).toBe('invalid-input');
      expect(err?.issues[0]?.field, JSON.stringify(err?.issues)).toBe(field);
      expect(err?.issues[0]?.reason).toMatch(re);
    }
  });

  it('checks a change against what it leads to', () => {
    const next = validateChange(cfg, { merge: emptyConfig(), remove: { macs: [{ vni: 5010, mac: '02:00:5e:00:02:02' }] } }, rules);
    expect(next.macs).toEqual([]);
    expect(() => validateChange(cfg, { merge: emptyConfig(), remove: { vnis: [{ vni: 5010 }] } }, rules)).toThrow(/floods\[5010\/203.0.113.2\]\.vni: VNI 5010 is not configured/);
  });
});

describe('the command plan', () => {
  it('builds from nothing in dependency order, with nothing through a shell', () => {
    const cmds = plan(cfg, emptyKernelState(), set, { prune: false }).map((c) => [c.tool, ...c.args].join(' '));
    const at = (s: string) => cmds.findIndex((c) => c.startsWith(s));
    expect(cmds).toContain('ip link add nvob10 type bridge');
    expect(cmds).toContain('ip link add nvox5010 type vxlan id 5010 dstport 4789 local 203.0.113.1 dev ul0 nolearning');
    expect(cmds).toContain('ip address add 192.0.2.1/24 dev nvob10');
    expect(cmds).toContain('bridge fdb append 00:00:00:00:00:00 dev nvox5010 dst 203.0.113.2 self permanent');
    expect(cmds).toContain('bridge fdb append 02:00:5e:00:02:02 dev nvox5010 dst 203.0.113.2 self permanent');
    expect(at(`ip link add ${vrfDeviceName('red')}`)).toBeLessThan(at('ip link add nvob10'));
    expect(at('ip link add nvob10')).toBeLessThan(at('ip link add nvox5010'));
    expect(at('ip link set dev nvox5010 master nvob10')).toBeLessThan(at('bridge fdb append'));
    // Without kernel VRFs the VRF is recorded on a bridge that stays down and the IRB bridge is not enslaved.
    expect(cmds).not.toContain(`ip link set dev nvob10 master ${vrfDeviceName('red')}`);
    expect(plan(cfg, emptyKernelState(), { ...set, kernelVrf: true }, { prune: false }).map((c) => c.args.join(' '))).toContain(`link set dev nvob10 master ${vrfDeviceName('red')}`);
  });

  it('leaves foreign devices with nvo-style names alone and says so', () => {
    const s = emptyKernelState([{ ifname: 'nvob10', linkinfo: { info_kind: 'bridge' } }]);
    expect(nameConflicts(cfg, s, set)).toEqual(['nvob10']);
  });
});
