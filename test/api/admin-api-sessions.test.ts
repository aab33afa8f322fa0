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
  it('refuses to delete a device or pod, drop a ToR from its pod or change its gateways while sessions use them (409 with the count), and allows it after BYE', async () => {
    s = await startStack();
    app = await buildAdminApp({ store: s.inventory, token: TOKEN });
    const [h1, h2, h3] = [await s.agent('h1'), await s.agent('h2'), await s.agent('h3')];
    for (const h of [h1, h2, h3]) expect((await h.register(60)).status).toBe(200);
    const a1 = await h1.invite({ mac: '02:00:00:00:01:01' }, 'acme');
    const a2 = await h2.invite({ mac: '02:00:00:00:02:01' }, 'acme');
    const g3 = await h3.invite({ mac: '02:00:00:00:03:01' }, 'globex');
    for (const a of [a1, a2, g3]) expect(a.status, a.reason).toBe(200);
    expect(a1.body.branches).toEqual([{ proxy: 'np1', devices: ['tor1', 'tor2', 'wan1', 'tgw1'] }]);

    // Taking tor2 out of pod1 would leave the two acme sessions' configuration on it with nothing to
    // undo it: refused (409, naming the device and the count), like deleting it. The same for the
    // pod's gateways, which hold the sessions' WAN/ToR-gateway side.
    const pod1 = INVENTORY.pods.find((p) => p.id === 'pod1')!;
    const { id: _id, ...pod1Body } = pod1;
    await conflict({ method: 'PUT', url: '/pods/pod1', headers: auth, payload: { ...pod1Body, tors: ['tor1'] } }, /^cannot remove ToR 'tor2' from pod 'pod1': device 'tor2' is still used by 2 sessions$/);
    await conflict({ method: 'DELETE', url: '/devices/tor2', headers: auth }, /^device 'tor2' is still listed by pod 'pod1'$/);
    const wan2 = { ...INVENTORY.devices.find((d) => d.id === 'wan1')!, id: 'wan2', jid: 'wan2@nvo3.test', vtep: '203.0.113.3' };
    const tgw2 = { ...INVENTORY.devices.find((d) => d.id === 'tgw1')!, id: 'tgw2', jid: 'tgw2@nvo3.test', vtep: '203.0.113.4' };
    for (const d of [wan2, tgw2]) expect((await app.inject({ method: 'POST', url: '/devices', headers: auth, payload: d })).statusCode).toBe(201);
    await conflict({ method: 'PUT', url: '/pods/pod1', headers: auth, payload: { ...pod1Body, wanGateway: 'wan2' } }, /^cannot change wanGateway of pod 'pod1' from 'wan1' to 'wan2': pod 'pod1' still has 2 sessions$/);
    await conflict({ method: 'PUT', url: '/pods/pod1', headers: auth, payload: { ...pod1Body, torGateway: 'tgw2' } }, /^cannot change torGateway of pod 'pod1' from 'tgw1' to 'tgw2': pod 'pod1' still has 2 sessions$/);
    // The same through PUT /inventory (what `nvo apply -f` does): the field is the document's.
    const doc = { ...INVENTORY, devices: [...INVENTORY.devices, wan2, tgw2] };
    const res = await app.inject({ method: 'PUT', url: '/inventory', headers: auth, payload: { ...doc, pods: [{ ...pod1, tors: ['tor1'] }, INVENTORY.pods[1]] } });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'conflict', message: "cannot remove ToR 'tor2' from pod 'pod1': device 'tor2' is still used by 2 sessions", issues: [{ field: 'pods[0].tors' }] } });
    await conflict({ method: 'PUT', url: '/inventory', headers: auth, payload: { ...doc, pods: [{ ...pod1, wanGateway: 'wan2' }, INVENTORY.pods[1]] } }, /^cannot change wanGateway of pod 'pod1'.*still has 2 sessions$/);
    // pod2 has no ToR in common and keeps its gateways: changing its VLAN ranges is fine.
    const pod2 = INVENTORY.pods[1]!;
    const { id: _id2, ...pod2Body } = pod2;
    expect((await app.inject({ method: 'PUT', url: '/pods/pod2', headers: auth, payload: { ...pod2Body, vlanRanges: ['1-3000'] } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/pods/pod2', headers: auth, payload: pod2Body })).statusCode).toBe(200);

    // Dropping pod2 and its ToR from the whole inventory is refused while globex's session is there.
    const withoutPod2 = {
      ...doc,
      pods: INVENTORY.pods.filter((p) => p.id !== 'pod2'),
      devices: doc.devices.filter((d) => d.id !== 'tor3'),
    };
    await conflict({ method: 'PUT', url: '/inventory', headers: auth, payload: withoutPod2 }, /^cannot delete: device 'tor3' is still used by 1 session$/);
    // The pod alone: its VLAN is still allocated.
    await conflict({ method: 'PUT', url: '/inventory', headers: auth, payload: { ...withoutPod2, devices: doc.devices } }, /^cannot delete: pod 'pod2' still has 1 VLAN allocated$/);

    // One BYE leaves one session on tor2; after the second, tor2 can leave the pod and then go.
    expect((await h1.bye(a1.callId)).status).toBe(200);
    await conflict({ method: 'PUT', url: '/pods/pod1', headers: auth, payload: { ...pod1Body, tors: ['tor1'] } }, /^cannot remove ToR 'tor2' from pod 'pod1': device 'tor2' is still used by 1 session$/);
    expect((await h2.bye(a2.callId)).status).toBe(200);
    const put = await app.inject({ method: 'PUT', url: '/pods/pod1', headers: auth, payload: { ...pod1Body, tors: ['tor1'], wanGateway: 'wan2', torGateway: 'tgw2' } });
    expect(put.statusCode, put.body).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/devices/tor2', headers: auth })).statusCode).toBe(204);
    expect(await s.t.redis.hexists(s.t.k.inventory('device'), 'tor2')).toBe(0);

    expect((await h3.bye(g3.callId)).status).toBe(200);
    const dropped = await app.inject({ method: 'PUT', url: '/inventory', headers: auth, payload: { ...withoutPod2, pods: [{ ...pod1, tors: ['tor1'], wanGateway: 'wan2', torGateway: 'tgw2' }], devices: withoutPod2.devices.filter((d) => d.id !== 'tor2') } });
    expect(dropped.statusCode, dropped.body).toBe(200);
    expect((dropped.json() as { changes: unknown[] }).changes).toEqual([
      { kind: 'device', id: 'tor3', action: 'deleted' },
      { kind: 'pod', id: 'pod2', action: 'deleted' },
    ]);
  }, 120_000);
});
