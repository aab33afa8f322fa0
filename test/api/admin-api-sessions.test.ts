// The admin API refusing to delete what live sessions use, with sessions made the real way: hNVEs
// REGISTER and INVITE through the tenant proxy and a network proxy (test/proxy/harness.ts: real Redis,
// real WebSockets, the in-memory device sync), and the API on that same store.
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/api/server.ts';
import { INVENTORY, startStack, type Stack } from '../proxy/harness.ts';

const TOKEN = 'test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

let s: Stack | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await s?.close();
  app = s = undefined;
});

/** A request that must fail with 409 and a message matching `reason`, leaving Redis byte-for-byte unchanged. */
async function conflict(o: InjectOptions, reason: RegExp): Promise<void> {
  const before = await s!.t.snapshot();
  const res = await app!.inject(o);
  expect(res.statusCode, res.body).toBe(409);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe('conflict');
  expect(body.error.message).toMatch(reason);
  expect(await s!.t.snapshot()).toBe(before);
}

describe('admin API with live sessions', () => {
  it('refuses to delete a device or pod sessions still use (409 with the count), and allows it after BYE', async () => {
    s = await startStack();
    app = await buildAdminApp({ store: s.inventory, token: TOKEN });
    const [h1, h2, h3] = [await s.agent('h1'), await s.agent('h2'), await s.agent('h3')];
    for (const h of [h1, h2, h3]) expect((await h.register(60)).status).toBe(200);
    const a1 = await h1.invite({ mac: '02:00:00:00:01:01' }, 'acme');
    const a2 = await h2.invite({ mac: '02:00:00:00:02:01' }, 'acme');
    const g3 = await h3.invite({ mac: '02:00:00:00:03:01' }, 'globex');
    for (const a of [a1, a2, g3]) expect(a.status, a.reason).toBe(200);
    expect(a1.body.branches).toEqual([{ proxy: 'np1', devices: ['tor1', 'tor2', 'wan1', 'tgw1'] }]);

    // Take tor2 out of pod1 (draining it), so only the sessions still hold it; deleting it is refused
    // while the two acme sessions on pod1 use it.
    const pod1 = INVENTORY.pods.find((p) => p.id === 'pod1')!;
    const { id: _id, ...pod1Body } = { ...pod1, tors: ['tor1'] };
    const put = await app.inject({ method: 'PUT', url: '/pods/pod1', headers: auth, payload: pod1Body });
    expect(put.statusCode, put.body).toBe(200);
    await conflict({ method: 'DELETE', url: '/devices/tor2', headers: auth }, /^device 'tor2' is still used by 2 sessions$/);

    // Dropping pod2 and its ToR from the whole inventory is refused while globex's session is there.
    const withoutPod2 = {
      ...INVENTORY,
      pods: [{ ...pod1, tors: ['tor1'] }, ...INVENTORY.pods.filter((p) => p.id !== 'pod1' && p.id !== 'pod2')],
      devices: INVENTORY.devices.filter((d) => d.id !== 'tor3'),
    };
    await conflict({ method: 'PUT', url: '/inventory', headers: auth, payload: withoutPod2 }, /^cannot delete: device 'tor3' is still used by 1 session$/);
    // The pod alone: its VLAN is still allocated.
    await conflict({ method: 'PUT', url: '/inventory', headers: auth, payload: { ...withoutPod2, devices: INVENTORY.devices } }, /^cannot delete: pod 'pod2' still has 1 VLAN allocated$/);

    // One BYE leaves one session on tor2; after the second the device can go.
    expect((await h1.bye(a1.callId)).status).toBe(200);
    await conflict({ method: 'DELETE', url: '/devices/tor2', headers: auth }, /^device 'tor2' is still used by 1 session$/);
    expect((await h2.bye(a2.callId)).status).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/devices/tor2', headers: auth })).statusCode).toBe(204);
    expect(await s.t.redis.hexists(s.t.k.inventory('device'), 'tor2')).toBe(0);

    expect((await h3.bye(g3.callId)).status).toBe(200);
    const dropped = await app.inject({ method: 'PUT', url: '/inventory', headers: auth, payload: { ...withoutPod2, devices: withoutPod2.devices.filter((d) => d.id !== 'tor2') } });
    expect(dropped.statusCode, dropped.body).toBe(200);
    expect((dropped.json() as { changes: unknown[] }).changes).toEqual([
      { kind: 'device', id: 'tor3', action: 'deleted' },
      { kind: 'pod', id: 'pod2', action: 'deleted' },
    ]);
  }, 120_000);
});
