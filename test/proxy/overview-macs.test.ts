// `nvo show macs` and GET /overview/macs pick the VNI by --vni or by the tenant, and a VNI that is
// configured but has no session yet is an empty view, not an error (a reviewer ran the README's
// `nvo show macs --vni 5001` on a fresh inventory and got "no tenant holds VNI 5001").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/api/server.ts';
import { overviewRoutes } from '../../src/api/routes/overview.ts';
import { macView } from '../../src/proxy/views/mac-view.ts';
import { ViewSources } from '../../src/proxy/views/sources.ts';
import { expectRefused, runNvo } from '../support/nvo-cli.ts';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
let views: ViewSources;
let app: Awaited<ReturnType<typeof buildAdminApp>>;

beforeAll(async () => {
  s = await startStack();
  const h1 = await s.agent('h1');
  expect((await h1.register(600)).status).toBe(200);
  const r = await h1.invite({ mac: '02:00:00:00:13:01' }, 'acme');
  expect(r.status, r.reason).toBe(200);
  // A tenant whose mapping gives VNI 7001, with no session yet.
  await s.inventory.create('tenant', { cid: 'initech', name: 'Initech', subnet: '203.0.113.0/28', gateway: '203.0.113.1', encapsulations: ['vxlan'] });
  await s.inventory.create('vni', { cid: 'initech', vni: 7001, vrf: { name: 'initech', rd: '65000:7001', importTargets: ['65000:7001'], exportTargets: ['65000:7001'] } });
  views = new ViewSources(s.t.redis, s.t.k, s.inventory);
  app = await buildAdminApp({ store: s.inventory, token: 'admin-token-for-overview-macs', extraRoutes: [overviewRoutes(views)] });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await s?.close();
  await s?.inventory.close();
});

const show = (args: string[]) => runNvo(['show', 'macs', ...args], { NVO_PREFIX: s.t.prefix, NVO_LOG_LEVEL: 'silent' });
const get = async (query: string) => {
  const r = await app.inject({ method: 'GET', url: `/overview/macs${query}` });
  return { status: r.statusCode, body: r.json() as Record<string, unknown> };
};

describe('the MAC view, chosen by VNI or by tenant', () => {
  it('--tenant gives the tenant\'s VNI, the same as --vni, in the CLI and the API', async () => {
    // The devices may still be applying after the INVITE's answer: wait until they have, or the view
    // moves under us between the reads.
    await expect.poll(async () => (await macView(views, 5001))?.members.filter((m) => m.kind === 'aNVE' && m.appliedRevision !== m.desiredRevision).length, { timeout: 15_000 }).toBe(0);
    const want = JSON.parse(JSON.stringify(await macView(views, 5001))) as Record<string, unknown>;
    expect(want).toMatchObject({ vni: 5001, cid: 'acme' });
    expect((want.table as unknown[]).length).toBe(1);
    for (const args of [['--tenant', 'acme'], ['--vni', '5001'], ['--vni', '5001', '--tenant', 'acme']]) {
      const r = await show([...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(want);
    }
    expect(await get('?tenant=acme')).toEqual({ status: 200, body: want });
  }, 60_000);

  it('a VNI given in a mapping but without sessions is an empty view', async () => {
    for (const args of [['--vni', '7001'], ['--tenant', 'initech']]) {
      const r = await show([...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ vni: 7001, cid: 'initech', table: [], members: [] });
    }
    const table = await show(['--vni', '7001']);
    expect(table.stdout).toMatch(/^VNI 7001 \(initech\): 0 MAC\(s\) in the table/);
    expect((await get('?vni=7001')).body).toMatchObject({ vni: 7001, cid: 'initech', table: [] });
  }, 60_000);

  it('says which option is missing or wrong, in one line', async () => {
    // Each is an input error (the option is named): exit 2, nothing on stdout, nothing stored.
    const cases: [string[], RegExp][] = [
      [[], /--vni: is required \(or --tenant\)/],
      [['--tenant', 'nobody'], /--tenant: tenant 'nobody' has no VNI yet/],
      [['--vni', '9999'], /no tenant holds VNI 9999/],
      [['--vni', '5001', '--tenant', 'initech'], /no tenant holds VNI 5001 for --tenant initech/],
    ];
    for (const [args, re] of cases) await expectRefused(show, () => s.durableSnapshot(), args, 2, re);
    expect(await get('')).toMatchObject({ status: 400 });
    expect(await get('?tenant=nobody')).toMatchObject({ status: 400 });
    expect(await get('?vni=5001&tenant=initech')).toMatchObject({ status: 404 });
  }, 60_000);
});
