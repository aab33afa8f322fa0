// What one session wants on each affected aNVE (use case 4), as DeviceStateStore contributions owned
// by `session:<callId>`. Shared entries (the VLAN, the VNI, the VRF) are repeated in every session's
// fragment on purpose: the store's union keeps them while any session of the (CID, pod) wants them
// and drops them with the last, so "the last VM of a CID leaves" needs no separate bookkeeping and
// cannot race with an INVITE that arrives at that moment.
import { emptyConfig, type DeviceConfig, type VniEntry } from '../../model/device-config.ts';
import type { CidMapping } from '../../model/cid-mapping.ts';
import type { Device } from '../../model/device.ts';
import type { Pod } from '../../model/pod.ts';

export interface SessionPlan {
  cid: string;
  mac: string;
  /** The hNVE's VTEP: every device floods BUM traffic of the VNI to it and reaches the VM's MAC there. */
  hnveVtep: string;
  vlan: number;
  vni: number;
  group: string | null;
  encapsulation: string;
  mapping: CidMapping;
  /** Default gateway with the subnet's prefix length, e.g. 192.0.2.1/25. */
  irbAddress: string;
  pod: Pod;
  wan: Device;
  tgw: Device;
}

export function ownerOf(callId: string): string {
  return `session:${callId}`;
}

/** Device id → the session's fragment, for the pod's ToRs, the WAN gateway and the ToR gateway. */
export function sessionFragments(p: SessionPlan): Map<string, DeviceConfig> {
  const out = new Map<string, DeviceConfig>();
  const vrf = { name: p.mapping.vrf.name, rd: p.mapping.vrf.rd, importTargets: p.mapping.vrf.importTargets, exportTargets: p.mapping.vrf.exportTargets };
  const vlan = { id: p.vlan, name: p.cid.slice(0, 32) };
  const vni = (withVrf: boolean): VniEntry => ({
    vni: p.vni,
    vlan: p.vlan,
    encapsulation: p.encapsulation,
    ...(withVrf ? { vrf: vrf.name } : {}),
    ...(p.group ? { mcastGroup: p.group } : {}),
  });
  const flood = { vni: p.vni, vtep: p.hnveVtep };
  const mac = { vni: p.vni, mac: p.mac, vtep: p.hnveVtep };
  const irb = { vlan: p.vlan, vrf: vrf.name, address: p.irbAddress };
  const routesOnTors = p.pod.routing === 'tor';

  for (const tor of p.pod.tors) {
    const c = emptyConfig();
    c.vlans.push(vlan);
    c.vnis.push(vni(routesOnTors));
    c.floods.push(flood);
    if (routesOnTors) {
      c.vrfs.push(vrf);
      c.irbs.push(irb);
    }
    out.set(tor, c);
  }
  const wan = emptyConfig();
  wan.vlans.push(vlan);
  wan.vrfs.push(vrf);
  wan.vnis.push(vni(true));
  wan.floods.push(flood);
  wan.macs.push(mac);
  if (!routesOnTors) wan.irbs.push(irb);
  out.set(p.wan.id, wan);

  const tgw = emptyConfig();
  tgw.vlans.push(vlan);
  tgw.vnis.push(vni(false));
  tgw.floods.push(flood);
  tgw.macs.push(mac);
  out.set(p.tgw.id, tgw);
  return out;
}
