// The overview (issue 9, item 6) is one set of view functions read three ways: in-process, by
// `nvo show … --json` (another OS process on the same Redis) and by GET /overview/… in the admin API.
// On a stack with sessions of two tenants in two pods, all three say exactly the same, filtered and not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/api/server.ts';
import { overviewRoutes } from '../../src/api/routes/overview.ts';
import { deviceRows, vniRows } from '../../src/proxy/views/network-view.ts';
import { ViewSources, type ViewFilter } from '../../src/proxy/views/sources.ts';
import { nveRows, sessionRows, tenantRows } from '../../src/proxy/views/tenant-view.ts';
import { runNvo } from '../support/nvo-cli.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let views: ViewSources;
let app: Awaited<ReturnType<typeof buildAdminApp>>;
const callIds: Record<string, string> = {};

beforeAll(async () => {
  s = await startStack();
  const [h1, h2, h3] = [await s.agent('h1'), await s.agent('h2'), await s.agent('h3')];
  for (const h of [h1, h2, h3]) expect((await h.register(600)).status).toBe(200);
  const invites = {
    'h1-acme': () => h1.invite({ mac: '02:00:00:00:12:01', ip: '192.0.2.20' }, 'acme'),
    'h2-acme': () => h2.invite({ mac: '02:00:00:00:12:02' }, 'acme'),
    'h3-acme': () => h3.invite({ mac: '02:00:00:00:12:03' }, 'acme'),
    'h3-globex': () => h3.invite({ mac: '02:00:00:00:12:04' }, 'globex'),
  };
  for (const [name, invite] of Object.entries(invites)) {
    const r = await invite();
    expect(r.status, r.reason).toBe(200);
    callIds[name] = r.callId;
  }
  views = new ViewSources(s.t.redis, s.t.k, s.inventory);
  app = await buildAdminApp({ store: s.inventory, token: 'admin-token-for-overview-cli', extraRoutes: [overviewRoutes(views)] });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await s?.close();
  await s?.inventory.close();
});

const VIEWS = {
  nves: nveRows,
  sessions: sessionRows,
  tenants: tenantRows,
  vnis: vniRows,
  devices: deviceRows,
} as const satisfies Record<string, (v: ViewSources, f?: ViewFilter) => Promise<unknown[]>>;
type ViewName = keyof typeof VIEWS;

/** What the view function says, as JSON would carry it (undefined fields dropped). */
const direct = async (name: ViewName, f: ViewFilter = {}) => JSON.parse(JSON.stringify(await VIEWS[name](views, f))) as unknown[];

async function cli(name: ViewName, args: string[] = []): Promise<unknown[]> {
  const r = await runNvo(['show', name, ...args, '--json'], { NVO_PREFIX: s.t.prefix, NVO_LOG_LEVEL: 'silent' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as unknown[];
}

async function api(name: ViewName, query = ''): Promise<unknown[]> {
  const res = await app.inject({ method: 'GET', url: `/overview/${name}${query}` });
  expect(res.statusCode).toBe(200);
  return (res.json() as { items: unknown[] }).items;
}

describe('nvo show --json and GET /overview/* say what the views say', () => {
  it('has the sessions the stack made (so the comparisons below compare something)', async () => {
    const rows = await sessionRows(views);
    expect(rows.map((r) => [r.callId, r.nve, r.cid, r.mac, r.pod, r.state]).sort()).toEqual(
      [
        [callIds['h1-acme'], 'h1', 'acme', '02:00:00:00:12:01', 'pod1', 'established'],
        [callIds['h2-acme'], 'h2', 'acme', '02:00:00:00:12:02', 'pod1', 'established'],
        [callIds['h3-acme'], 'h3', 'acme', '02:00:00:00:12:03', 'pod2', 'established'],
        [callIds['h3-globex'], 'h3', 'globex', '02:00:00:00:12:04', 'pod2', 'established'],
      ].sort(),
    );
    expect((await vniRows(views)).map((v) => [v.cid, v.vni])).toEqual([
      ['acme', 5001],
      ['globex', 10000],
    ]);
    expect((await deviceRows(views)).filter((d) => d.desired.vnis.length > 0).map((d) => d.device).sort()).toEqual(['tgw1', 'tor1', 'tor2', 'tor3', 'wan1']);
  });

  for (const name of Object.keys(VIEWS) as ViewName[]) {
    it(`${name}: unfiltered, by VNI and by tenant`, async () => {
      const [all, byVni, byTenant] = [await direct(name), await direct(name, { vni: 10000 }), await direct(name, { tenant: 'acme' })];
      expect(all.length).toBeGreaterThan(0);
      expect(byVni).not.toEqual(all);
      // The three CLI runs at once: each is a whole node process.
      const [cliAll, cliVni, cliTenant] = await Promise.all([cli(name), cli(name, ['--vni', '10000']), cli(name, ['--tenant', 'acme'])]);
      expect(cliAll).toEqual(all);
      expect(cliVni).toEqual(byVni);
      expect(cliTenant).toEqual(byTenant);
      expect(await api(name)).toEqual(all);
      expect(await api(name, '?vni=10000')).toEqual(byVni);
      expect(await api(name, '?tenant=acme')).toEqual(byTenant);
    }, 60_000);
  }
});
