// nvo show nves|sessions|vnis|macs|devices|tenants — the whole overlay from Redis: the tenant
// proxy's view (NVEs, sessions, tenants) and the network proxy's (devices, VNIs, MAC entries per
// member). Read-only; the same views are at /overview/* in the admin API.
import type { Command } from 'commander';
import { invalid } from '../../errors.ts';
import type { ViewFilter, ViewSources } from '../../proxy/views/sources.ts';
import type { CliContext } from '../context.ts';
import { list } from '../table.ts';

interface ShowOpts {
  vni?: string;
  tenant?: string;
  json?: boolean;
}

const ago = (iso: string | null) => {
  if (!iso) return undefined;
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  return s >= 0 ? `in ${s}s` : `${-s}s ago`;
};

/** "3" when desired and applied agree, "3 (2 applied)" when the device lags. */
const both = (want: number, have: number) => (want === have ? String(want) : `${want} (${have} applied)`);

export function registerShow(program: Command, ctx: CliContext): void {
  const group = program.command('show').description('the whole overlay, read from Redis: NVEs, sessions, VNIs, MAC tables, devices, tenants');

  async function sources(opts: ShowOpts): Promise<{ s: ViewSources; f: ViewFilter }> {
    const { ViewSources: Sources, parseVniFilter } = await import('../../proxy/views/sources.ts');
    const f: ViewFilter = { vni: parseVniFilter(opts.vni, '--vni'), ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}) };
    const store = await ctx.store();
    return { s: new Sources(store.redis, store.k, store), f };
  }

  const sub = (name: string, description: string) =>
    group.command(name).description(description).option('--vni <n>', 'only this VNI').option('--tenant <cid>', 'only this tenant (CID)').option('--json', 'machine-readable');

  sub('nves', 'hNVEs and aNVEs: registered or not, where (the tenant-proxy process holding the connection), until when, sessions').action(async (opts: ShowOpts) => {
    const { s, f } = await sources(opts);
    const { nveRows } = await import('../../proxy/views/tenant-view.ts');
    const rows = await nveRows(s, f);
    if (opts.json) return ctx.json(rows);
    ctx.table(rows, [
      { header: 'NVE', value: (r) => r.id },
      { header: 'KIND', value: (r) => r.kind },
      { header: 'POD/ROLE', value: (r) => r.pod ?? r.role },
      { header: 'VTEP', value: (r) => r.vtep },
      { header: 'REGISTERED', value: (r) => r.registered },
      { header: 'EXPIRES', value: (r) => ago(r.expiresAt) },
      { header: 'SINCE', value: (r) => ago(r.since) },
      { header: 'VIA', value: (r) => (r.connected === false ? `${r.via} (gone)` : r.via) },
      { header: 'SESSIONS', value: (r) => (r.kind === 'hNVE' ? r.sessions : undefined) },
    ]);
  });

  sub('sessions', 'sessions (one per VM): NVE, tenant, MAC, VNI, VLAN, group, encapsulation, state').action(async (opts: ShowOpts) => {
    const { s, f } = await sources(opts);
    const { sessionRows } = await import('../../proxy/views/tenant-view.ts');
    const rows = await sessionRows(s, f);
    if (opts.json) return ctx.json(rows);
    ctx.table(rows, [
      { header: 'CALL-ID', value: (r) => r.callId },
      { header: 'NVE', value: (r) => r.nve },
      { header: 'CID', value: (r) => r.cid },
      { header: 'MAC', value: (r) => r.mac },
      { header: 'IP', value: (r) => r.ip },
      { header: 'VNI', value: (r) => r.vni },
      { header: 'VLAN', value: (r) => r.vlan },
      { header: 'GROUP', value: (r) => r.group },
      { header: 'ENCAP', value: (r) => r.encapsulation },
      { header: 'STATE', value: (r) => r.state },
      { header: 'BRANCHES', value: (r) => list(r.branches) },
    ]);
  });

  sub('tenants', "the tenant proxy's view: per tenant its VNI, hNVEs and VMs").action(async (opts: ShowOpts) => {
    const { s, f } = await sources(opts);
    const { tenantRows } = await import('../../proxy/views/tenant-view.ts');
    const rows = await tenantRows(s, f);
    if (opts.json) return ctx.json(rows);
    ctx.table(rows, [
      { header: 'CID', value: (r) => r.cid },
      { header: 'NAME', value: (r) => r.name },
      { header: 'SUBNET', value: (r) => r.subnet },
      { header: 'VNI', value: (r) => r.vni },
      { header: 'HNVES', value: (r) => list(r.hnves) },
      { header: 'VMS', value: (r) => list(r.vms.map((v) => `${v.mac}@${v.nve}`)) },
    ]);
  });

  sub('vnis', 'per VNI: tenant, VRF, encapsulation, group, VLAN per pod, members (hNVEs with their VTEPs, aNVEs) and MAC count').action(async (opts: ShowOpts) => {
    const { s, f } = await sources(opts);
    const { vniRows } = await import('../../proxy/views/network-view.ts');
    const rows = await vniRows(s, f);
    if (opts.json) return ctx.json(rows);
    ctx.table(rows, [
      { header: 'VNI', value: (r) => r.vni },
      { header: 'CID', value: (r) => r.cid },
      { header: 'VRF', value: (r) => r.vrf },
      { header: 'ENCAP', value: (r) => r.encapsulation },
      { header: 'GROUP', value: (r) => r.group },
      { header: 'VLANS', value: (r) => list(r.pods.map((p) => `${p.pod}:${p.vlan}`)) },
      { header: 'HNVES', value: (r) => list(r.hnves.map((h) => `${h.nve}@${h.vtep}`)) },
      { header: 'ANVES', value: (r) => list(r.anves) },
      { header: 'MACS', value: (r) => r.macs },
    ]);
  });

  sub('devices', "the network proxy's view: per device VLANs, VNIs, tunnels, MAC entries, groups; desired vs applied revision, sync state, last commit and last error").action(async (opts: ShowOpts) => {
    const { s, f } = await sources(opts);
    const { deviceRows } = await import('../../proxy/views/network-view.ts');
    const rows = await deviceRows(s, f);
    if (opts.json) return ctx.json(rows);
    ctx.table(rows, [
      { header: 'DEVICE', value: (r) => r.device },
      { header: 'ROLE', value: (r) => r.role },
      { header: 'REG', value: (r) => r.registered },
      { header: 'DESIRED', value: (r) => r.desiredRevision },
      { header: 'APPLIED', value: (r) => r.appliedRevision },
      { header: 'STATE', value: (r) => r.syncState },
      { header: 'VLANS', value: (r) => list(r.desired.vlans) },
      { header: 'VNIS', value: (r) => list(r.desired.vnis) },
      { header: 'TUNNELS', value: (r) => both(r.desired.tunnels.length, r.applied.tunnels.length) },
      { header: 'MACS', value: (r) => both(r.desired.macs.length, r.applied.macs.length) },
      { header: 'GROUPS', value: (r) => list(r.desired.groups.map((g) => `${g.vni}:${g.group}`)) },
      { header: 'LAST COMMIT', value: (r) => r.lastCommitAt },
      { header: 'LAST ERROR', value: (r) => r.lastError },
    ]);
  });

  sub('macs', 'per member of a VNI (--vni, or the --tenant\'s) (hNVEs and aNVEs) the MAC entries it has: applied/pending/stale on aNVEs, acknowledged table revision on hNVEs (? = unknown)').action(async (opts: ShowOpts) => {
    const { s, f } = await sources(opts);
    const vni = await s.macViewVni(f, { vni: '--vni', tenant: '--tenant' });
    const { macView } = await import('../../proxy/views/mac-view.ts');
    const v = await macView(s, vni);
    if (!v || (f.tenant !== undefined && v.cid !== f.tenant)) throw invalid('--vni', `no tenant holds VNI ${vni}${f.tenant !== undefined ? ` for --tenant ${f.tenant}` : ''}`);
    if (opts.json) return ctx.json(v);
    ctx.print(`VNI ${v.vni} (${v.cid}): ${v.table.length} MAC(s) in the table`);
    ctx.table(v.members, [
      { header: 'MEMBER', value: (m) => m.member },
      { header: 'KIND', value: (m) => m.kind },
      { header: 'VTEP', value: (m) => m.vtep },
      { header: 'ENTRIES', value: (m) => m.entries.length },
      { header: 'PENDING', value: (m) => (m.kind === 'aNVE' ? m.entries.filter((e) => e.state === 'pending').length : undefined) },
      { header: 'STALE', value: (m) => (m.kind === 'aNVE' ? m.entries.filter((e) => e.state === 'stale').length : undefined) },
      { header: 'REVISION', value: (m) => (m.kind === 'aNVE' ? `${m.appliedRevision}/${m.desiredRevision}` : `${m.acknowledged ?? '?'}/${m.tableRevision ?? '?'}`) },
      { header: 'STATE', value: (m) => m.state },
    ]);
    const entries = v.members.flatMap((m) => m.entries.map((e) => ({ member: m.member, ...e })));
    if (entries.length) {
      ctx.print('');
      ctx.table(entries, [
        { header: 'MEMBER', value: (e) => e.member },
        { header: 'MAC', value: (e) => e.mac },
        { header: 'VTEP', value: (e) => e.vtep },
        { header: 'STATE', value: (e) => e.state },
      ]);
    }
  });
}
