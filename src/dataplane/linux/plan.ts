// From a validated target and a kernel snapshot to the ordered commands that make the kernel match.
// Pure, so the order can be read and tested without root. The order matters: removals first (a
// deleted VXLAN device takes its fdb with it, a deleted bridge releases its ports), then VRFs,
// bridges, addresses, VXLAN devices, and last the fdb entries that need their device.
import { createHash } from 'node:crypto';
import type { DeviceConfig, VniEntry } from '../../model/device-config.ts';
import type { Command } from './command-runner.ts';
import { ZERO_MAC, type KernelState, type LinkRow } from './kernel-state.ts';
import { bridgeName, encodeMark, trunkVlanName, vrfDeviceName, vrfTable, vxlanName, type Mark } from './names.ts';

export interface PlanSettings {
  localVtep: string;
  /** Underlay device the VXLAN packets leave by; unset lets the kernel route by `local`. */
  underlayDev?: string;
  dstPort: number;
  /** Where 802.1Q exists: a trunk device whose VLAN sub-interfaces join the VLAN segments. */
  trunk?: string;
  /** The kernel has `type vrf`; without it a VRF is recorded on an empty bridge and routes stay in main. */
  kernelVrf: boolean;
}

export interface PlanOptions {
  /** Reconcile: also remove what sits on nvo devices without being nvo's (stray fdb entries, extra addresses). */
  prune: boolean;
}

const ip = (...args: string[]): Command => ({ tool: 'ip', args });
const bridge = (...args: string[]): Command => ({ tool: 'bridge', args });

export function plan(target: DeviceConfig, s: KernelState, set: PlanSettings, opt: PlanOptions): Command[] {
  const out: Command[] = [];
  const irbByVlan = new Map(target.irbs.map((i) => [i.vlan, i]));
  const wantVlans = new Map(target.vlans.map((v) => [v.id, v]));
  const wantVnis = new Map(target.vnis.map((v) => [v.vni, v]));
  const wantVrfs = new Map(target.vrfs.map((v) => [v.name, v]));
  const recreated = new Set<string>();
  const rebuiltVrfs = new Set<string>();

  // 1. Stray entries, then owned devices that should not exist (or exist with the wrong build).
  if (opt.prune) for (const f of s.strayFdb) out.push(bridge('fdb', 'del', f.mac, 'dev', f.ifname, 'master'));
  for (const o of s.stale) out.push(ip('link', 'del', 'dev', o.link.ifname));
  for (const [n, o] of s.trunks) if (!set.trunk || !wantVlans.has(n) || !trunkMatches(o.link, set.trunk, n)) out.push(ip('link', 'del', 'dev', o.link.ifname));
  for (const [n, o] of s.vnis) {
    const want = wantVnis.get(n);
    if (!want || !vxlanMatches(o.link, want, set)) {
      out.push(ip('link', 'del', 'dev', o.link.ifname));
      if (want) recreated.add(o.link.ifname);
    }
  }
  for (const [n, o] of s.vlans) if (!wantVlans.has(n)) out.push(ip('link', 'del', 'dev', o.link.ifname));
  for (const [n, o] of s.vrfs) {
    const want = wantVrfs.get(n);
    if (!want || o.link.linkinfo?.info_kind !== (set.kernelVrf ? 'vrf' : 'bridge')) out.push(ip('link', 'del', 'dev', o.link.ifname));
  }

  // 2. VRFs. Without kernel VRFs an empty bridge, kept down, stands for the VRF so it is recorded.
  for (const v of target.vrfs) {
    const name = vrfDeviceName(v.name);
    const have = s.vrfs.get(v.name);
    const rebuilt = !have || have.link.linkinfo?.info_kind !== (set.kernelVrf ? 'vrf' : 'bridge');
    if (rebuilt) rebuiltVrfs.add(name);
    if (rebuilt) out.push(set.kernelVrf ? ip('link', 'add', name, 'type', 'vrf', 'table', String(vrfTable(v.name))) : ip('link', 'add', name, 'type', 'bridge'));
    ensureMark(out, name, rebuilt ? undefined : have.link, { t: 'vrf', ...v });
    if (set.kernelVrf) ensureUp(out, name, rebuilt ? undefined : have.link);
  }

  // 3. One bridge per VLAN segment, its IRB address, and its trunk sub-interface where 802.1Q exists.
  for (const v of target.vlans) {
    const name = bridgeName(v.id);
    const have = s.vlans.get(v.id)?.link;
    const irb = irbByVlan.get(v.id);
    if (!have) out.push(ip('link', 'add', name, 'type', 'bridge'));
    ensureMark(out, name, have, { t: 'vlan', ...v, irbVrf: irb?.vrf });
    const master = irb && set.kernelVrf ? vrfDeviceName(irb.vrf) : undefined;
    if (have?.master !== master || (master && rebuiltVrfs.has(master))) out.push(master ? ip('link', 'set', 'dev', name, 'master', master) : ip('link', 'set', 'dev', name, 'nomaster'));
    // A gateway keeps its MAC: derived from the IRB (VRF and address), not the bridge's ports, so a
    // segment rebuilt (every session gone, then back) or the same gateway on another device answers
    // with the MAC hosts already have in their ARP caches. A bridge takes the lowest port MAC by
    // default, and a new VXLAN port has a random one: the lab's VMs kept the old gateway MAC for up
    // to ~40 s (reachable → stale → probe) after a rebuild and lost the WAN meanwhile.
    const mac = irb ? irbMac(irb) : undefined;
    if (mac && have?.address !== mac) out.push(ip('link', 'set', 'dev', name, 'address', mac));
    ensureUp(out, name, have);
    const addrs = have ? (s.addrs.get(name) ?? []) : [];
    // The IRB is the first global address; the others are strays (or a previous IRB being replaced).
    const ours = s.vlans.get(v.id)?.mark.irbVrf !== undefined ? addrs.slice(0, 1) : [];
    for (const a of addrs) {
      if (a === irb?.address) continue;
      if (ours.includes(a) || opt.prune) out.push(ip('address', 'del', a, 'dev', name));
    }
    if (irb && !addrs.includes(irb.address)) out.push(ip('address', 'add', irb.address, 'dev', name));
    if (set.trunk) {
      const q = trunkVlanName(v.id);
      const qHave = s.trunks.get(v.id)?.link;
      const fresh = !qHave || !trunkMatches(qHave, set.trunk, v.id);
      if (fresh) out.push(ip('link', 'add', 'link', set.trunk, 'name', q, 'type', 'vlan', 'id', String(v.id)));
      ensureMark(out, q, fresh ? undefined : qHave, { t: 'trunk', vlan: v.id });
      if (fresh || qHave.master !== name) out.push(ip('link', 'set', 'dev', q, 'master', name));
      ensureUp(out, q, fresh ? undefined : qHave);
    }
  }

  // 4. One VXLAN device per VNI, in its VLAN's bridge; no learning, so only our entries steer it.
  for (const v of target.vnis) {
    const name = vxlanName(v.vni);
    const have = recreated.has(name) ? undefined : s.vnis.get(v.vni)?.link;
    if (!have) out.push(ip('link', 'add', name, ...vxlanArgs(v, set)));
    const { vni: _n, ...rest } = v;
    ensureMark(out, name, have, { t: 'vni', vni: v.vni, ...rest });
    if (have?.master !== bridgeName(v.vlan)) out.push(ip('link', 'set', 'dev', name, 'master', bridgeName(v.vlan)));
    // Nor does the bridge learn on it: a MAC it learned behind the tunnel would outlive a move of
    // that VM to this host (frames for it, now arriving by the tunnel, dropped as same-port) until
    // the VM spoke from its new port. The bridge entries of remote MACs are ours (step 5).
    if (have?.master !== bridgeName(v.vlan) || have?.linkinfo?.info_slave_data?.learning !== false) out.push(bridge('link', 'set', 'dev', name, 'learning', 'off'));
    ensureUp(out, name, have);
  }

  // 5. Remote entries: a flood entry per member VTEP (RFC 7348 §4.2 head-end replication of BUM
  // frames instead of an underlay multicast group), a static entry per remote MAC.
  const wantRemotes = new Map<string, Set<string>>();
  for (const f of target.floods) addTo(wantRemotes, vxlanName(f.vni), `${ZERO_MAC} ${f.vtep}`);
  const wantBridgedAll = new Map<string, Set<string>>();
  for (const m of target.macs) {
    addTo(wantRemotes, vxlanName(m.vni), `${m.mac} ${m.vtep}`);
    addTo(wantBridgedAll, vxlanName(m.vni), m.mac);
  }
  for (const v of target.vnis) {
    const name = vxlanName(v.vni);
    const want = wantRemotes.get(name) ?? new Set<string>();
    const have = recreated.has(name) ? [] : (s.remotes.get(name) ?? []);
    const haveKeys = new Set(have.map((r) => `${r.mac} ${r.dst}`));
    for (const r of have) if (!want.has(`${r.mac} ${r.dst}`)) out.push(bridge('fdb', 'del', r.mac, 'dev', name, 'dst', r.dst!, 'self'));
    for (const k of want) {
      if (haveKeys.has(k)) continue;
      const [mac, dst] = k.split(' ') as [string, string];
      // `append` adds a destination to a MAC's list: right for flood entries, and harmless for a
      // unicast MAC whose previous destination was deleted just above.
      out.push(bridge('fdb', 'append', mac, 'dev', name, 'dst', dst, 'self', 'permanent'));
    }
    // The bridge's entry for each remote MAC points at the VXLAN device, so unicast to it is not
    // flooded to the local ports; `extern_learn` (a control plane's entry, as EVPN daemons install
    // them) never ages and marks it as nvo's, apart from a user's `static` ones.
    const wantBridged = wantBridgedAll.get(name) ?? new Set<string>();
    const haveBridged = recreated.has(name) ? [] : (s.bridged.get(name) ?? []);
    for (const r of haveBridged) if (!wantBridged.has(r.mac)) out.push(bridge('fdb', 'del', r.mac, 'dev', name, 'master'));
    const bridgedMacs = new Set(haveBridged.map((r) => r.mac));
    for (const mac of wantBridged) if (!bridgedMacs.has(mac)) out.push(bridge('fdb', 'replace', mac, 'dev', name, 'master', 'extern_learn'));
  }
  return out;
}

/** Devices the target needs whose names are taken by devices nvo did not make: never touched. */
export function nameConflicts(target: DeviceConfig, s: KernelState, set: PlanSettings): string[] {
  const owned = new Set([...s.vlans.values(), ...s.vnis.values(), ...s.vrfs.values(), ...s.trunks.values(), ...s.stale].map((o) => o.link.ifname));
  const names = [
    ...target.vrfs.map((v) => vrfDeviceName(v.name)),
    ...target.vlans.map((v) => bridgeName(v.id)),
    ...(set.trunk ? target.vlans.map((v) => trunkVlanName(v.id)) : []),
    ...target.vnis.map((v) => vxlanName(v.vni)),
  ];
  return names.filter((n) => s.links.has(n) && !owned.has(n));
}

/** A locally administered unicast MAC (RFC 7042 §2.1) that only the IRB's VRF and address decide. */
export function irbMac(irb: { vrf: string; address: string }): string {
  const h = createHash('sha256').update(`${irb.vrf}\0${irb.address}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  const set = m.get(k) ?? new Set<string>();
  set.add(v);
  m.set(k, set);
}

function vxlanArgs(v: VniEntry, set: PlanSettings): string[] {
  return ['type', 'vxlan', 'id', String(v.vni), 'dstport', String(set.dstPort), 'local', set.localVtep, ...(set.underlayDev ? ['dev', set.underlayDev] : []), 'nolearning'];
}

function vxlanMatches(link: LinkRow, v: VniEntry, set: PlanSettings): boolean {
  const d = link.linkinfo?.info_data ?? {};
  return (
    link.linkinfo?.info_kind === 'vxlan' &&
    d.id === v.vni &&
    d.local === set.localVtep &&
    d.port === set.dstPort &&
    d.learning === false &&
    (set.underlayDev === undefined || d.link === set.underlayDev)
  );
}

function trunkMatches(link: LinkRow, trunk: string, vlan: number): boolean {
  const d = link.linkinfo?.info_data ?? {};
  return link.linkinfo?.info_kind === 'vlan' && d.id === vlan && (link as { link?: string }).link === trunk;
}

function ensureMark(out: Command[], name: string, have: LinkRow | undefined, mark: Mark): void {
  const alias = encodeMark(mark);
  if (have?.ifalias !== alias) out.push(ip('link', 'set', 'dev', name, 'alias', alias));
}

function ensureUp(out: Command[], name: string, have: LinkRow | undefined): void {
  if (!have?.flags?.includes('UP')) out.push(ip('link', 'set', 'dev', name, 'up'));
}
