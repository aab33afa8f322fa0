// The network proxy's view (use cases 2 and 4): per device what it should have and what it has —
// VLANs, VNIs, tunnels (flood lists), MAC entries, multicast groups — with revisions and sync state;
// and per VNI its tenant, VLANs per pod, encapsulation, group and members.
import type { DeviceConfig } from '../../model/device-config.ts';
import type { DeviceStatus } from '../../store/device-state.ts';
import type { ViewFilter, ViewSources } from './sources.ts';

export interface DeviceRow {
  device: string;
  role: string | null;
  driver: string | null;
  vtep: string | null;
  registered: boolean;
  reachedAt: string | null;
  desiredRevision: number;
  appliedRevision: number;
  syncState: DeviceStatus['syncState'];
  lastError: string | null;
  /** ISO time of the device's last commit by nvo (null: never). */
  lastCommitAt: string | null;
  /** What the device should have (desired) and has (applied), per VNI where it matters. */
  desired: DeviceSummary;
  applied: DeviceSummary;
}

export interface DeviceSummary {
  vlans: number[];
  vnis: number[];
  vrfs: string[];
  /** Remote VTEPs per VNI (head-end replication tunnels). */
  tunnels: { vni: number; vtep: string }[];
  macs: { vni: number; mac: string; vtep: string }[];
  groups: { vni: number; group: string }[];
  irbs: { vlan: number; vrf: string; address: string }[];
}

export interface VniRow {
  vni: number;
  cid: string;
  vrf: string | null;
  encapsulation: string | null;
  group: string | null;
  pods: { pod: string; vlan: number; users: number }[];
  hnves: { nve: string; vtep: string; macs: number }[];
  anves: string[];
  macs: number;
}

/** The entries a VNI filter keeps (null: all). */
function summary(c: DeviceConfig, vni: number | null): DeviceSummary {
  const keep = <T extends { vni: number }>(xs: T[]) => (vni === null ? xs : xs.filter((x) => x.vni === vni));
  const vnis = keep(c.vnis);
  const vlansOfVni = new Set(vnis.map((v) => v.vlan));
  return {
    vlans: c.vlans.map((v) => v.id).filter((id) => vni === null || vlansOfVni.has(id)),
    vnis: vnis.map((v) => v.vni),
    vrfs: c.vrfs.map((v) => v.name).filter((n) => vni === null || vnis.some((v) => v.vrf === n) || c.irbs.some((i) => i.vrf === n && vlansOfVni.has(i.vlan))),
    tunnels: keep(c.floods).map((f) => ({ vni: f.vni, vtep: f.vtep })),
    macs: keep(c.macs).map((m) => ({ vni: m.vni, mac: m.mac, vtep: m.vtep })),
    groups: vnis.filter((v) => v.mcastGroup).map((v) => ({ vni: v.vni, group: v.mcastGroup! })),
    irbs: c.irbs.filter((i) => vni === null || vlansOfVni.has(i.vlan)).map((i) => ({ vlan: i.vlan, vrf: i.vrf, address: i.address })),
  };
}

async function vniOfFilter(s: ViewSources, f: ViewFilter): Promise<number | null | undefined> {
  if (f.vni !== undefined) return f.vni;
  if (f.tenant !== undefined) return s.alloc.vniOf(f.tenant);
  return undefined;
}

export async function deviceRows(s: ViewSources, f: ViewFilter = {}, only?: string): Promise<DeviceRow[]> {
  const inventory = new Map((await s.inventory.list('device')).map((d) => [d.id, d]));
  const ids = only ? [only] : [...new Set([...inventory.keys(), ...(await s.state.devices())])].sort();
  const vni = await vniOfFilter(s, f);
  // A tenant without a VNI has nothing on any device.
  if (vni === null) return [];
  const rows: DeviceRow[] = [];
  for (const id of ids) {
    const d = inventory.get(id);
    const [want, have, st, reached] = await Promise.all([s.state.desired(id), s.state.applied(id), s.state.status(id), s.state.reachability(id)]);
    const desired = summary(want.config, vni ?? null);
    const applied = summary(have.config, vni ?? null);
    if (vni !== undefined && desired.vnis.length === 0 && applied.vnis.length === 0) continue;
    rows.push({
      device: id,
      role: d?.role ?? null,
      driver: d?.driver ?? null,
      vtep: d?.vtep ?? null,
      registered: reached !== null,
      reachedAt: reached?.at ?? null,
      desiredRevision: st.desiredRevision,
      appliedRevision: st.appliedRevision,
      syncState: st.syncState,
      lastError: st.lastError?.message ?? null,
      lastCommitAt: st.lastCommitAt,
      desired,
      applied,
    });
  }
  return rows;
}

export async function vniRows(s: ViewSources, f: ViewFilter = {}): Promise<VniRow[]> {
  const byCid = await s.redis.hgetall(s.k.vniByCid);
  const cids = await s.cids(Object.keys(byCid).sort(), f);
  const devices = await deviceRows(s, {});
  const rows: VniRow[] = [];
  for (const cid of cids) {
    const vni = Number(byCid[cid]);
    const members = await s.members.members(cid);
    const pods = [];
    for (const pod of await s.alloc.podsOf(cid)) {
      const v = await s.alloc.vlanOf(cid, pod);
      if (v) pods.push({ pod, vlan: v.vlan, users: v.users.length });
    }
    const hnves = new Map<string, { nve: string; vtep: string; macs: number }>();
    for (const m of members) {
      const h = hnves.get(m.nve) ?? { nve: m.nve, vtep: m.vtep, macs: 0 };
      h.macs++;
      hnves.set(m.nve, h);
    }
    const withVni = devices.filter((d) => d.desired.vnis.includes(vni) || d.applied.vnis.includes(vni));
    const group = withVni.flatMap((d) => d.desired.groups).find((g) => g.vni === vni)?.group ?? null;
    const mapping = await s.inventory.getMapping(cid);
    rows.push({
      vni,
      cid,
      vrf: mapping?.vrf.name ?? null,
      encapsulation: members[0]?.encapsulation ?? null,
      group,
      pods,
      hnves: [...hnves.values()].sort((a, b) => (a.nve < b.nve ? -1 : 1)),
      anves: withVni.map((d) => d.device),
      macs: members.length,
    });
  }
  return rows;
}
