// The tenant proxy's view (use cases 1, 3, 4): who is registered where, which sessions, and per
// tenant its VMs and hNVEs. aNVEs are listed beside the hNVEs: a NETCONF device counts as registered
// once the pipeline reached it, an XMPP gateway agent once it announced itself (DeviceStateStore
// reachability).
import type { ViewFilter, ViewSources } from './sources.ts';

export interface NveRow {
  id: string;
  kind: 'hNVE' | 'aNVE';
  /** hNVE: its pod; aNVE: its role (tor, wan-gw, tor-gw). */
  pod: string | null;
  role: string | null;
  vtep: string;
  registered: boolean;
  /** hNVE: registration expiry; aNVE: null. */
  expiresAt: string | null;
  /** hNVE: the tenant-proxy process holding its connection (`<proxy id>:<process>`); aNVE: how it was reached. */
  via: string | null;
  /** hNVE: whether that process is still there (it listens for pushes); false after it died, until the NVE registers again elsewhere. */
  connected: boolean | null;
  /** hNVE: last REGISTER; aNVE: last time nvo reached it. */
  since: string | null;
  sessions: number;
}

export interface SessionRow {
  callId: string;
  nve: string;
  cid: string;
  pod: string;
  mac: string;
  ip: string | null;
  state: string;
  vni: number | null;
  vlan: number | null;
  group: string | null;
  encapsulation: string | null;
  branches: string[];
  createdAt: string;
}

export interface TenantRow {
  cid: string;
  name: string;
  subnet: string;
  vni: number | null;
  hnves: string[];
  vms: { mac: string; ip: string | null; nve: string; callId: string; state: string }[];
  sessions: number;
}

export async function nveRows(s: ViewSources, f: ViewFilter = {}): Promise<NveRow[]> {
  const sessions = await sessionRows(s, f);
  const perNve = new Map<string, number>();
  for (const r of sessions) perNve.set(r.nve, (perNve.get(r.nve) ?? 0) + 1);
  const filtered = f.vni !== undefined || f.tenant !== undefined;
  const rows: NveRow[] = [];
  for (const h of await s.nves.list()) {
    // With a filter, an hNVE belongs when it has a session (or a VNI membership) there.
    if (filtered && !perNve.has(h.id)) continue;
    const reg = await s.registrar.get(h.id);
    // A live tenant-proxy process is subscribed to its delivery channel (delivery.ts); a dead one is not.
    const listeners = reg ? Number(((await s.redis.pubsub('NUMSUB', s.k.msgDeliver(reg.proc))) as [string, number])[1]) : 0;
    rows.push({
      id: h.id,
      kind: 'hNVE',
      pod: h.pod,
      role: null,
      vtep: h.vtep,
      registered: reg !== null,
      expiresAt: reg?.expiresAt ?? null,
      via: reg?.proc ?? null,
      connected: reg ? listeners > 0 : null,
      since: reg?.registeredAt ?? null,
      sessions: perNve.get(h.id) ?? 0,
    });
  }
  const vniOfFilter = f.vni ?? (f.tenant !== undefined ? await s.alloc.vniOf(f.tenant) : undefined);
  for (const d of await s.inventory.list('device')) {
    if (filtered) {
      // An aNVE belongs to a VNI when its desired or applied state carries it.
      if (vniOfFilter === undefined || vniOfFilter === null) continue;
      const [want, have] = await Promise.all([s.state.desired(d.id), s.state.applied(d.id)]);
      if (![...want.config.vnis, ...have.config.vnis].some((v) => v.vni === vniOfFilter)) continue;
    }
    const reached = await s.state.reachability(d.id);
    rows.push({ id: d.id, kind: 'aNVE', pod: null, role: d.role, vtep: d.vtep, registered: reached !== null, expiresAt: null, via: reached ? `${d.driver}/${reached.via}` : d.driver, connected: null, since: reached?.at ?? null, sessions: 0 });
  }
  return rows;
}

export async function sessionRows(s: ViewSources, f: ViewFilter = {}): Promise<SessionRow[]> {
  const all = await s.sessions.list();
  const cids = new Set(await s.cids([...new Set(all.map((x) => x.cid))], f));
  return all
    .filter((x) => cids.has(x.cid))
    .map((x) => {
      const a = x.answer ?? {};
      return {
        callId: x.callId,
        nve: x.nve,
        cid: x.cid,
        pod: x.pod,
        mac: x.mac,
        ip: x.ip ?? null,
        state: x.state,
        vni: typeof a.vni === 'number' ? a.vni : null,
        vlan: typeof a.vlan === 'number' ? a.vlan : null,
        group: typeof a.group === 'string' ? a.group : null,
        encapsulation: typeof a.encapsulation === 'string' ? a.encapsulation : null,
        branches: x.branches,
        createdAt: x.createdAt,
      };
    });
}

export async function tenantRows(s: ViewSources, f: ViewFilter = {}): Promise<TenantRow[]> {
  const tenants = await s.inventory.list('tenant');
  const cids = new Set(await s.cids(tenants.map((t) => t.cid), f));
  const sessions = await sessionRows(s, f);
  const rows: TenantRow[] = [];
  for (const t of tenants) {
    if (!cids.has(t.cid)) continue;
    const mine = sessions.filter((x) => x.cid === t.cid);
    rows.push({
      cid: t.cid,
      name: t.name,
      subnet: t.subnet,
      vni: await s.alloc.vniOf(t.cid),
      hnves: [...new Set(mine.map((x) => x.nve))].sort(),
      vms: mine.map((x) => ({ mac: x.mac, ip: x.ip, nve: x.nve, callId: x.callId, state: x.state })),
      sessions: mine.length,
    });
  }
  return rows;
}
