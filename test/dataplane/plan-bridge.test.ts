// The bridge's side of remote MACs, no root needed: the VXLAN port does not learn, and each remote
// MAC has a bridge entry of nvo's (`master extern_learn`) beside its VXLAN entry (`self dst`). Why:
// a MAC the bridge learned behind the tunnel outlived a REFER of that VM to this host, and frames for
// it, now arriving by the tunnel, were dropped as same-port until the VM spoke from its new port
// (the lab's demo lost 7-16 pings of a 50 ms stream to it; 0 since).
import { describe, expect, it } from 'vitest';
import { emptyConfig, normalizeConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { emptyKernelState, type FdbRow, type KernelState, type LinkRow } from '../../src/dataplane/linux/kernel-state.ts';
import { encodeMark } from '../../src/dataplane/linux/names.ts';
import { plan, type PlanSettings } from '../../src/dataplane/linux/plan.ts';

const set: PlanSettings = { localVtep: '203.0.113.1', underlayDev: 'ul0', dstPort: 4789, kernelVrf: false };
const MAC_A = '02:00:5e:00:02:02';
const MAC_B = '02:00:5e:00:02:03';
const cfg = (macs: string[]): DeviceConfig =>
  normalizeConfig({
    ...emptyConfig(),
    vlans: [{ id: 10, name: 'a' }],
    vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan' }],
    floods: [{ vni: 5010, vtep: '203.0.113.2' }],
    macs: macs.map((mac) => ({ vni: 5010, mac, vtep: '203.0.113.2' })),
  });

/** The kernel as `readKernel` would see it after `cfg(macs)` was applied, with these bridge entries. */
function applied(macs: string[], bridged: FdbRow[], learning = false): KernelState {
  const vlanMark = { t: 'vlan' as const, id: 10, name: 'a' };
  const vniMark = { t: 'vni' as const, vni: 5010, vlan: 10, encapsulation: 'vxlan' };
  const br: LinkRow = { ifname: 'nvob10', ifalias: encodeMark(vlanMark), flags: ['UP'], linkinfo: { info_kind: 'bridge' } };
  const vx: LinkRow = {
    ifname: 'nvox5010',
    ifalias: encodeMark(vniMark),
    master: 'nvob10',
    flags: ['UP'],
    linkinfo: { info_kind: 'vxlan', info_data: { id: 5010, local: '203.0.113.1', port: 4789, learning: false, link: 'ul0' }, info_slave_data: { learning } },
  };
  const s = emptyKernelState([br, vx]);
  s.vlans.set(10, { link: br, mark: vlanMark });
  s.vnis.set(5010, { link: vx, mark: vniMark });
  s.addrs.set('nvob10', []);
  s.remotes.set('nvox5010', [{ mac: '00:00:00:00:00:00', ifname: 'nvox5010', dst: '203.0.113.2' }, ...macs.map((mac) => ({ mac, ifname: 'nvox5010', dst: '203.0.113.2' }))]);
  s.bridged.set('nvox5010', bridged);
  return s;
}
const ours = (mac: string): FdbRow => ({ mac, ifname: 'nvox5010', master: 'nvob10', flags: ['extern_learn'], state: '' });
const text = (s: KernelState, target: DeviceConfig) => plan(target, s, set, { prune: false }).map((c) => [c.tool, ...c.args].join(' '));

describe('the bridge side of remote MACs', () => {
  it('turns learning off on the VXLAN port and gives every remote MAC, not the flood entry, a bridge entry', () => {
    const cmds = text(emptyKernelState(), cfg([MAC_A]));
    const at = (c: string) => cmds.indexOf(c);
    expect(cmds).toContain('bridge link set dev nvox5010 learning off');
    expect(at('bridge link set dev nvox5010 learning off')).toBeGreaterThan(at('ip link set dev nvox5010 master nvob10'));
    expect(cmds).toContain(`bridge fdb replace ${MAC_A} dev nvox5010 master extern_learn`);
    expect(cmds.filter((c) => c.includes('master extern_learn'))).toHaveLength(1);
  });

  it('changes nothing when the kernel already holds it', () => {
    expect(text(applied([MAC_A], [ours(MAC_A)]), cfg([MAC_A]))).toEqual([]);
  });

  it('puts learning back off when someone turned it on', () => {
    expect(text(applied([MAC_A], [ours(MAC_A)], true), cfg([MAC_A]))).toEqual(['bridge link set dev nvox5010 learning off']);
  });

  it('drops the bridge entry of a MAC that is no longer remote (it moved here) and adds the new ones', () => {
    const cmds = text(applied([MAC_A], [ours(MAC_A)]), cfg([MAC_B]));
    expect(cmds).toContain(`bridge fdb del ${MAC_A} dev nvox5010 master`);
    expect(cmds).toContain(`bridge fdb replace ${MAC_B} dev nvox5010 master extern_learn`);
  });

  it('restores an entry of ours that the kernel took over by learning (it lost its extern_learn mark)', () => {
    // readKernel files such a row nowhere: it is neither ours nor a user's static one.
    expect(text(applied([MAC_A], []), cfg([MAC_A]))).toEqual([`bridge fdb replace ${MAC_A} dev nvox5010 master extern_learn`]);
  });
});
