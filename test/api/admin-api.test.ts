import { readFileSync } from 'node:fs';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dialectIssues } from '../../src/api/dialect-check.ts';
import { buildAdminApp } from '../../src/api/server.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

const TOKEN = 'test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const lab = parse(readFileSync(new URL('../../lab/inventory.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
const tenant = { cid: 'acme', name: 'Acme', subnet: '192.0.2.0/24', gateway: '192.0.2.1' };

let t: TestRedis;
let store: InventoryStore;
let app: FastifyInstance;
beforeEach(async () => {
  t = await testRedis();
  store = new InventoryStore(t.redis, t.prefix, { deviceRules: dialectIssues });
  app = await buildAdminApp({ store, token: TOKEN, bodyLimit: 64 * 1024 });
});
afterEach(async () => {
  await app.close();
  await store.close();
  await t.cleanup();
});

const call = (o: InjectOptions) => app.inject(o);

/** A request that must fail with `status`, naming `field`, and leave Redis byte-for-byte unchanged. */
async function refused(o: InjectOptions, status: number, field?: string, reason?: RegExp) {
  const before = await t.snapshot();
  const res = await call(o);
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as { error: { code: string; message: string; issues?: { field: string; reason: string }[] } };
  expect(body.error.message).toBeTruthy();
  if (field !== undefined) expect(body.error.issues?.[0]?.field).toBe(field);
  if (reason) expect(body.error.issues?.[0]?.reason ?? body.error.message).toMatch(reason);
  expect(await t.snapshot()).toBe(before);
  return body.error;
}

describe('admin API', () => {
  it('creates, lists, shows, replaces and deletes a tenant', async () => {
    const created = await call({ method: 'POST', url: '/tenants', headers: auth, payload: tenant });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/tenants/acme');
    expect(created.json()).toMatchObject({ cid: 'acme', multicast: false, encapsulations: ['vxlan'] });
    expect((await call({ method: 'GET', url: '/tenants' })).json()).toEqual({ items: [created.json()] });
    const put = await call({ method: 'PUT', url: '/tenants/acme', headers: auth, payload: { name: 'Acme 2', subnet: '198.51.100.0/24', gateway: '198.51.100.1' } });
    expect(put.statusCode).toBe(200);
    expect((await call({ method: 'GET', url: '/tenants/acme' })).json()).toMatchObject({ name: 'Acme 2', subnet: '198.51.100.0/24' });
    expect((await call({ method: 'DELETE', url: '/tenants/acme', headers: auth })).statusCode).toBe(204);
    await refused({ method: 'GET', url: '/tenants/acme' }, 404);
    await refused({ method: 'DELETE', url: '/tenants/acme', headers: auth }, 404);
  });

  it('serves devices, pods, CID mappings and the whole inventory; hides passwords from readers without the token', async () => {
    const res = await call({ method: 'PUT', url: '/inventory?dryRun=1', headers: auth, payload: lab });
    expect(res.json()).toMatchObject({ dryRun: true });
    expect(await t.snapshot()).toBe('');
    const applied = await call({ method: 'PUT', url: '/inventory', headers: auth, payload: lab });
    expect((applied.json() as { changes: unknown[] }).changes).toHaveLength(11);
    expect((await call({ method: 'PUT', url: '/inventory', headers: auth, payload: lab })).json()).toEqual({ dryRun: false, changes: [] });

    expect((await call({ method: 'GET', url: '/pods/pod1' })).json()).toMatchObject({ tors: ['tor1', 'tor2'], vlanRanges: ['1-4000'] });
    expect((await call({ method: 'GET', url: '/vnis/acme' })).json()).toMatchObject({ vni: 5001 });
    const anon = (await call({ method: 'GET', url: '/devices/tor1' })).json() as { management: Record<string, unknown> };
    expect(anon.management).not.toHaveProperty('password');
    const admin = (await call({ method: 'GET', url: '/devices/tor1', headers: auth })).json() as { management: Record<string, unknown> };
    expect(admin.management.password).toBe('nvo-lab');
    const listed = (await call({ method: 'GET', url: '/devices' })).json() as { items: { id: string }[] };
    expect(listed.items.map((d) => d.id)).toEqual(['tgw1', 'tor1', 'tor2', 'tor3', 'wan1']);

    await refused({ method: 'DELETE', url: '/devices/wan1', headers: auth }, 409, undefined, /still listed by pods 'pod1', 'pod2'/);
    await refused({ method: 'PUT', url: '/vnis/globex', headers: auth, payload: { cid: 'globex', vni: 5001, vrf: { name: 'g', rd: '65000:9', importTargets: ['65000:9'], exportTargets: ['65000:9'] } } }, 409, 'vni', /already given to CID 'acme'/);
    await t.redis.hset(t.k.deviceContrib('tor3'), 'session-a', '{}', 'session-b', '{}', 'session-c', '{}');
    const gone = { ...lab, pods: (lab.pods as { id: string }[]).filter((p) => p.id !== 'pod2'), devices: (lab.devices as { id: string }[]).filter((d) => d.id !== 'tor3') };
    await refused({ method: 'PUT', url: '/inventory', headers: auth, payload: gone }, 409, undefined, /still used by 3 sessions/);
    expect((await call({ method: 'PUT', url: '/settings', headers: auth, payload: { vniPool: ['20000-29999'] } })).json()).toEqual({ vniPool: ['20000-29999'] });
  });

  it('answers bad input with 400 naming the field and reason, and changes nothing', async () => {
    await call({ method: 'PUT', url: '/inventory', headers: auth, payload: lab });
    const json = { ...auth, 'content-type': 'application/json' };
    const malformed = await refused({ method: 'POST', url: '/tenants', headers: json, payload: '{"cid": "x", "name": ' }, 400, 'body', /not valid JSON/);
    expect(malformed.code).toBe('invalid-input');
    await refused({ method: 'POST', url: '/tenants', headers: json, payload: '' }, 400, 'body', /empty/);
    await refused({ method: 'POST', url: '/tenants', headers: auth, payload: { ...tenant, subnet: '192.0.2.0' } }, 400, 'subnet', /needs a prefix length/);
    await refused({ method: 'POST', url: '/tenants', headers: auth, payload: { ...tenant, gateway: '203.0.113.1' } }, 400, 'gateway', /outside the subnet 192\.0\.2\.0\/24/);
    for (const vlan of [0, 4095, 5000]) {
      await refused({ method: 'PUT', url: '/pods/pod2', headers: auth, payload: { tors: ['tor3'], wanGateway: 'wan1', torGateway: 'tgw1', vlanRanges: ['1-100', vlan] } }, 400, 'vlanRanges[1]', /outside 1\.\.4094/);
    }
    const dup = await refused({ method: 'POST', url: '/tenants', headers: auth, payload: { ...tenant, cid: 'acme' } }, 409, 'cid');
    expect(dup.message).toBe("tenant 'acme' already exists");
    await refused({ method: 'POST', url: '/pods', headers: auth, payload: { id: 'pod3', tors: ['tor9'], wanGateway: 'wan1', torGateway: 'tgw1' } }, 400, 'tors[0]', /no device 'tor9'/);
    await refused({ method: 'POST', url: '/tenants', headers: auth, payload: { ...tenant, cid: 'x', subnett: '192.0.2.0/24' } }, 400, 'subnett', /^unknown field$/);
    const typoDoc = { ...lab, tenants: [{ ...tenant, colour: 'red' }] };
    await refused({ method: 'PUT', url: '/inventory', headers: auth, payload: typoDoc }, 400, 'tenants[0].colour', /^unknown field$/);
    await refused({ method: 'POST', url: '/devices', headers: auth, payload: { ...(lab.devices as object[])[0], id: 'tor9', dialect: 'cisco-ios' } }, 400, 'dialect', /unknown dialect 'cisco-ios'; one of .*nvo3-lab/);
    await refused({ method: 'PUT', url: '/tenants/acme', headers: auth, payload: { ...tenant, cid: 'other' } }, 400, 'cid', /differs from 'acme'/);
    await refused({ method: 'POST', url: '/tenants', headers: auth, payload: { ...tenant, name: 'x'.repeat(70 * 1024) } }, 413, 'body');
  });

  it('carries every issue of bad input, each naming its field (an unknown one by its own name)', async () => {
    await call({ method: 'PUT', url: '/inventory', headers: auth, payload: lab });
    const typo = await refused({ method: 'PUT', url: '/tenants/acme', headers: auth, payload: { name: 'Acme', subnett: '192.0.2.0/24', gateway: '192.0.2.1', colour: 'red' } }, 400);
    expect(typo.issues).toEqual([
      { field: 'subnett', reason: 'unknown field' },
      { field: 'colour', reason: 'unknown field' },
      { field: 'subnet', reason: 'is required' },
    ]);
    const devices = structuredClone(lab.devices) as { role: string; management?: { port: number } }[];
    devices[0]!.role = 'spine';
    devices[0]!.management!.port = 99999;
    const doc = { ...lab, devices, tenants: [{ ...tenant, subnett: '192.0.2.0/24' }] };
    const bad = await refused({ method: 'PUT', url: '/inventory', headers: auth, payload: doc }, 400);
    expect(bad.issues).toEqual([
      { field: 'tenants[0].subnett', reason: 'unknown field' },
      { field: 'devices[0].role', reason: 'must be one of "tor", "wan-gw", "tor-gw"' },
      { field: 'devices[0].management.port', reason: 'must be at most 65535' },
    ]);
    // The message says them all too, for a client that prints only the message.
    expect(bad.message).toBe('invalid inventory: tenants[0].subnett: unknown field; devices[0].role: must be one of "tor", "wan-gw", "tor-gw"; devices[0].management.port: must be at most 65535');
  });

  it('needs the bearer token for every change (401), compared whole', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }]) {
      const e = await refused({ method: 'POST', url: '/tenants', headers, payload: tenant }, 401);
      expect(e.code).toBe('unauthorized');
    }
    await store.create('tenant', tenant);
    await refused({ method: 'DELETE', url: '/tenants/acme' }, 401);
    await refused({ method: 'PUT', url: '/inventory', payload: {} }, 401);
    const res = await call({ method: 'POST', url: '/tenants', payload: tenant });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    await expect(buildAdminApp({ store })).rejects.toThrow(/NVO_ADMIN_TOKEN/);
  });

  it('publishes an OpenAPI document listing every route, generated from the schemas', async () => {
    const res = await call({ method: 'GET', url: '/openapi.json' });
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; additionalProperties: boolean } }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const served = app
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .filter((l) => /\(/.test(l));
    expect(served.length).toBeGreaterThan(0);
    const expected = ['/tenants', '/devices', '/pods', '/vnis'].flatMap((b) => {
      const item = `${b}/{${b === '/tenants' || b === '/vnis' ? 'cid' : 'id'}}`;
      return [`GET ${b}`, `POST ${b}`, `GET ${item}`, `PUT ${item}`, `DELETE ${item}`];
    });
    expected.push('GET /settings', 'PUT /settings', 'GET /inventory', 'PUT /inventory', 'GET /openapi.json', 'GET /healthz');
    expect(listed).toEqual(expected.sort());
    const tenantBody = doc.paths['/tenants']!.post!.requestBody!.content['application/json']!.schema;
    expect(Object.keys(tenantBody.properties)).toEqual(['cid', 'name', 'subnet', 'gateway', 'multicast', 'encapsulations']);
    expect(tenantBody.additionalProperties).toBe(false);
  });

  it('lets later parts add routes that get auth and OpenAPI listing', async () => {
    const extra = await buildAdminApp({
      store,
      token: TOKEN,
      extraRoutes: [
        async (a) => {
          a.post('/queues/pause', { config: { openapi: { summary: 'pause', tag: 'queues' } } }, async () => ({ paused: true }));
        },
      ],
    });
    try {
      expect((await extra.inject({ method: 'POST', url: '/queues/pause' })).statusCode).toBe(401);
      expect((await extra.inject({ method: 'POST', url: '/queues/pause', headers: auth })).json()).toEqual({ paused: true });
      const doc = (await extra.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
      expect(doc.paths['/queues/pause']).toBeDefined();
      expect((await extra.inject({ method: 'GET', url: '/nowhere' })).json()).toMatchObject({ error: { code: 'not-found' } });
    } finally {
      await extra.close();
    }
  });
});
