// The admin API as `nvo serve` builds it (src/api/served-routes.ts), on the real Redis: its OpenAPI
// document lists nvo's routes and not Bull Board's internals, the dashboard still works, and
// docs/admin-api.md names exactly the routes the document lists (both ways), so neither drifts.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedRoutes, type ServedRoutes } from '../../src/api/served-routes.ts';
import { buildAdminApp } from '../../src/api/server.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

const TOKEN = 'doc-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const DOC = readFileSync(new URL('../../docs/admin-api.md', import.meta.url), 'utf8');

let t: TestRedis;
let store: InventoryStore;
let served: ServedRoutes;
let app: FastifyInstance;
let paths: Record<string, Record<string, unknown>>;
beforeAll(async () => {
  t = await testRedis();
  store = new InventoryStore(t.redis, t.prefix);
  served = await servedRoutes(store);
  app = await buildAdminApp({ store, token: TOKEN, extraRoutes: served.plugins });
  paths = ((await app.inject({ url: '/openapi.json' })).json() as { paths: typeof paths }).paths;
}, 30_000);
afterAll(async () => {
  await app?.close();
  await served?.close();
  await store?.close();
  await t?.cleanup();
});

const routesOf = (p: typeof paths) => Object.entries(p).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));

describe('the served API and its documentation', () => {
  it('lists nvo\'s routes and none of Bull Board\'s internal ones, and /queues still works', async () => {
    const routes = routesOf(paths);
    expect(routes.filter((r) => r.includes('/queues/'))).toEqual([]);
    for (const r of ['GET /tenants', 'POST /hnves', 'PUT /hnves/{id}', 'GET /overview/macs', 'GET /metrics', 'GET /queues', 'GET /healthz']) expect(routes).toContain(r);
    const page = await app.inject({ url: '/queues', headers: auth });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const api = await app.inject({ url: '/queues/api/queues', headers: auth });
    expect(api.statusCode, api.body).toBe(200);
    expect((await app.inject({ url: '/queues/api/queues' })).statusCode).toBe(401);
  });

  it('docs/admin-api.md names every route of the document, and no route the server lacks', () => {
    // Routes are written `GET /tenants` or `GET/PUT/DELETE /tenants/{cid}` (a query may follow in []).
    const documented = new Set(
      [...DOC.matchAll(/`((?:GET|POST|PUT|DELETE|PATCH)(?:\/(?:GET|POST|PUT|DELETE|PATCH))*) (\/[^`[\s]*)(?:\[[^\]]*\])?`/g)].flatMap((m) => m[1]!.split('/').map((method) => `${method} ${m[2]}`)),
    );
    const served = routesOf(paths);
    expect(served.filter((r) => !documented.has(r)), 'routes missing from docs/admin-api.md').toEqual([]);
    expect([...documented].filter((r) => !served.includes(r)), 'routes the doc names but the server does not have').toEqual([]);
  });

  it('answers a body that is not JSON with 415 in the error envelope, as documented', async () => {
    const res = await app.inject({ method: 'POST', url: '/tenants', headers: { ...auth, 'content-type': 'application/xml' }, payload: '<tenant/>' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { code: 'invalid-input', issues: [{ field: 'body', reason: 'must be JSON (content-type: application/json)' }] } });
    expect(DOC).toMatch(/\| 415 \| `invalid-input` \|/);
    expect(paths['/tenants']!.post).toMatchObject({ responses: { 415: { description: expect.any(String) } } });
  });

  it('answers an hNVE on a VTEP in use with 409 naming the owner, and changes nothing', async () => {
    await store.apply({ devices: [{ id: 't1', role: 'tor', driver: 'xmpp', jid: 't1@nvo3.test', vtep: '203.0.113.11' }, { id: 'w1', role: 'wan-gw', driver: 'xmpp', jid: 'w1@nvo3.test', vtep: '203.0.113.1' }, { id: 'g1', role: 'tor-gw', driver: 'xmpp', jid: 'g1@nvo3.test', vtep: '203.0.113.2' }], pods: [{ id: 'pod1', tors: ['t1'], wanGateway: 'w1', torGateway: 'g1' }] });
    const h = (id: string, vtep: string) => ({ id, pod: 'pod1', vtep, secret: 'secret-of-an-hnve-0123' });
    expect((await app.inject({ method: 'POST', url: '/hnves', headers: auth, payload: h('h1', '192.0.2.201') })).statusCode).toBe(201);
    for (const [vtep, owner] of [['192.0.2.201', "hNVE 'h1'"], ['203.0.113.11', "device 't1'"]]) {
      const before = await t.snapshot();
      const res = await app.inject({ method: 'POST', url: '/hnves', headers: auth, payload: h('h2', vtep!) });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: { code: 'conflict', message: `VTEP ${vtep} is already used by ${owner}`, issues: [{ field: 'vtep' }] } });
      expect(await t.snapshot()).toBe(before);
    }
    const dev = await app.inject({ method: 'POST', url: '/devices', headers: auth, payload: { id: 't2', role: 'tor', driver: 'xmpp', jid: 't2@nvo3.test', vtep: '192.0.2.201' } });
    expect(dev.statusCode).toBe(409);
    expect(dev.json()).toMatchObject({ error: { message: "VTEP 192.0.2.201 is already used by hNVE 'h1'" } });
  });
});
