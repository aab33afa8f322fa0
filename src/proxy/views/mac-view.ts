// `nvo show macs --vni N`: per member of the VNI, which MAC entries it has.
//  - aNVEs: the VNI's MAC entries in their desired and applied state; an entry desired but not yet
//    applied is `pending` (the device lags), one applied but no longer desired is `stale`.
//  - hNVEs: they hold the VNI's MAC table through INVITE answers and NOTIFY; what they acknowledged
//    is the AckSource's figure (revision acknowledged of the table's revision), `?` where unknown.
import type { ViewSources } from './sources.ts';

export type MacState = 'applied' | 'pending' | 'stale' | 'local' | 'remote';

export interface MacMember {
  member: string;
  kind: 'hNVE' | 'aNVE';
  vtep: string | null;
  /** aNVE: sync state; hNVE: 'acknowledged' / 'behind' / '?' (no figure). */
  state: string;
  desiredRevision: number | null;
  appliedRevision: number | null;
  /** hNVE: the table revision it acknowledged and the table's own; null = not known (`?`). */
  acknowledged: number | null;
  tableRevision: number | null;
  entries: { mac: string; vtep: string; state: MacState }[];
}

export interface MacView {
  vni: number;
  cid: string;
  /** The VNI's MAC table as membership has it (what INVITE answers carry). */
  table: { mac: string; vtep: string; nve: string }[];
  members: MacMember[];
}

export async function macView(s: ViewSources, vni: number): Promise<MacView | null> {
  const cid = await s.cidOfVni(vni);
  if (!cid) return null;
  const members = await s.members.members(cid);
  const table = members.map((m) => ({ mac: m.mac, vtep: m.vtep, nve: m.nve }));
  const [tableRevision, acks] = await Promise.all([s.acks.tableRevision(cid), s.acks.acknowledged(cid)]);
  const out: MacMember[] = [];

  const hnves = [...new Set(members.map((m) => m.nve))].sort();
  for (const nve of hnves) {
    const vtep = members.find((m) => m.nve === nve)!.vtep;
    const ack = acks.get(nve) ?? null;
    const state = ack === null || tableRevision === null ? '?' : ack >= tableRevision ? 'acknowledged' : 'behind';
    out.push({
      member: nve,
      kind: 'hNVE',
      vtep,
      state,
      desiredRevision: null,
      appliedRevision: null,
      acknowledged: ack,
      tableRevision,
      entries: table.map((t) => ({ mac: t.mac, vtep: t.vtep, state: t.nve === nve ? 'local' : 'remote' })),
    });
  }

  const devices = new Map((await s.inventory.list('device')).map((d) => [d.id, d]));
  for (const id of [...new Set([...devices.keys(), ...(await s.state.devices())])].sort()) {
    const [want, have, st] = await Promise.all([s.state.desired(id), s.state.applied(id), s.state.status(id)]);
    const inVni = (c: typeof want.config) => c.vnis.some((v) => v.vni === vni);
    if (!inVni(want.config) && !inVni(have.config)) continue;
    const key = (m: { mac: string; vtep: string }) => `${m.mac}@${m.vtep}`;
    const desired = want.config.macs.filter((m) => m.vni === vni);
    const applied = new Set(have.config.macs.filter((m) => m.vni === vni).map(key));
    const desiredKeys = new Set(desired.map(key));
    const entries: MacMember['entries'] = desired.map((m) => ({ mac: m.mac, vtep: m.vtep, state: applied.has(key(m)) ? 'applied' : 'pending' }));
    for (const m of have.config.macs) if (m.vni === vni && !desiredKeys.has(key(m))) entries.push({ mac: m.mac, vtep: m.vtep, state: 'stale' });
    entries.sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
    out.push({
      member: id,
      kind: 'aNVE',
      vtep: devices.get(id)?.vtep ?? null,
      state: st.syncState,
      desiredRevision: st.desiredRevision,
      appliedRevision: st.appliedRevision,
      acknowledged: null,
      tableRevision: null,
      entries,
    });
  }
  return { vni, cid, table, members: out };
}
