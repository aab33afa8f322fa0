// The protocol's rules that the scenario does not walk through, on the real stack (real Redis, real
// WebSockets): a retransmission is answered again and executed once, a known method a proxy does not
// serve is 501, the tenant→network link is authenticated like an NVE, nonce-counts are never reused,
// 488 when no encapsulation is common, 503 with Retry-After when a pool is exhausted, and an NVE
// cannot act on another NVE's session. Every refusal leaves the store as it was.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { digest } from '../../src/proxy/auth/digest.ts';
import type { Request } from '../../src/proxy/protocol/messages.ts';
import { ProtocolClient } from '../../src/proxy/transport/ws-client.ts';
import { SECRETS, startStack, type Stack } from './harness.ts';

let s: Stack;
afterEach(() => s?.close().then(() => s.inventory.close()));

/** A tenant with its VNI/VRF mapping, as the admin adds one. */
async function addTenant(cid: string, subnet: string, gateway: string, encapsulations: string[], rd: string) {
  await s.inventory.create('tenant', { cid, name: cid, subnet, gateway, encapsulations });
  await s.inventory.create('vni', { cid, vrf: { name: cid, rd, importTargets: [rd], exportTargets: [rd] } });
}

describe('transactions', () => {
  it('answers a retransmitted INVITE (same tid) again with the same answer and executes it once', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    expect((await h1.register(60)).status).toBe(200);
    const req = h1.client.build('INVITE', 'rtx-1', { cid: 'acme', vm: { mac: '02:00:00:00:0a:01' } });
    const first = await h1.client.once(req);
    expect(first.status, first.reason).toBe(200);
    const desiredAfterFirst = await s.state.desired('wan1');
    const second = await h1.client.once(req);
    expect(second).toEqual(first);
    // Executed once: one session, one user of the pod's VLAN, one sync request, no new desired revision.
    expect(await s.t.redis.smembers(s.t.k.sessionIndex)).toEqual(['rtx-1']);
    expect(await s.t.redis.scard(s.t.k.vlanUsers('acme', 'pod1'))).toBe(1);
    expect(s.syncs[0]!.requests.map((r) => r.sessionId)).toEqual(['rtx-1']);
    expect((await s.state.desired('wan1')).revision).toBe(desiredAfterFirst.revision);

    // The same tid on another request is not a retransmission: 400 naming the tid, and nothing runs.
    const other = h1.client.build('INVITE', 'rtx-2', { cid: 'acme', vm: { mac: '02:00:00:00:0a:02' } });
    const clash = await h1.client.once({ ...other, tid: req.tid });
    expect(clash.status).toBe(400);
    expect(clash.body).toEqual({ issues: [{ field: 'tid', reason: 'already used' }] });
    expect(await s.t.redis.smembers(s.t.k.sessionIndex)).toEqual(['rtx-1']);
  });

  it('refuses a correctly signed request whose CSeq does not grow within its call with 400, and runs nothing', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    await h1.register(60);
    const inv = await h1.invite({ mac: '02:00:00:00:0a:05' }, 'acme', { callId: 'cseq-call' });
    expect(inv.status, inv.reason).toBe(200);
    // A BYE of that call signed for CSeq 1 (the INVITE's): an old request replayed with a new tid.
    const r = h1.client.build('BYE', 'cseq-call', {});
    expect(r.cseq).toBe(2);
    const { nonce, nc } = r.auth!;
    const old = { ...r, cseq: 1, auth: { nonce, nc, response: digest(SECRETS.h1, { nonce, nc, method: 'BYE', from: 'h1', callId: 'cseq-call', tid: r.tid, cseq: 1, body: {} }) } };
    const refused = await h1.client.once(old);
    expect(refused.status).toBe(400);
    expect(refused.reason).toBe('Bad Request: cseq 1 is not above 1, the last of call cseq-call');
    expect(refused.body).toEqual({ issues: [{ field: 'cseq', reason: 'must be above 1' }] });
    expect(await s.t.redis.smembers(s.t.k.sessionIndex)).toEqual(['cseq-call']);
    // CANCEL is not ordered (it repeats the CSeq of what it cancels): nothing in progress → 481, not 400.
    const cancel = h1.client.build('CANCEL', 'cseq-call', {});
    const c = await h1.client.once({ ...cancel, cseq: 1, auth: { nonce, nc: nc + 1, response: digest(SECRETS.h1, { nonce, nc: nc + 1, method: 'CANCEL', from: 'h1', callId: 'cseq-call', tid: cancel.tid, cseq: 1, body: {} }) } });
    expect(c.status).toBe(481);
    expect((await h1.bye('cseq-call')).status).toBe(200);
  });

  it('answers NOTIFY at the tenant proxy, and REGISTER at a network proxy, with 501', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    await h1.register(60);
    const n = await h1.client.request('NOTIFY', { event: 'mac-table' });
    expect(n.status).toBe(501);
    expect(n.reason).toBe('Not Implemented: NOTIFY is not implemented here');
    expect(n.body).toEqual({ allow: ['REGISTER', 'INVITE', 'BYE', 'CANCEL', 'INFO', 'REFER', 'OPTIONS'] });

    const np = await ProtocolClient.connect(`ws://127.0.0.1:${await s.networks[0]!.listening()}`, { identity: 'tp1:probe', secret: 'np1-shared-secret', peer: 'np1' });
    try {
      const r = await np.request('REGISTER', { expires: 60 });
      expect(r.status).toBe(501);
      expect(r.body).toEqual({ allow: ['INVITE', 'BYE', 'CANCEL', 'INFO', 'REFER', 'OPTIONS'] });
    } finally {
      await np.close();
    }
  });
});

describe('authentication', () => {
  it('refuses a tenant proxy without the network proxy’s shared secret: unsigned 401, wrong secret 403, nothing changes', async () => {
    s = await startStack();
    const url = `ws://127.0.0.1:${await s.networks[0]!.listening()}`;
    const forwarded = {
      cid: 'acme',
      vm: { mac: '02:00:00:00:0c:01' },
      nve: { id: 'h1', pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan'] },
      tenant: { subnet: '192.0.2.0/25', gateway: '192.0.2.1', multicast: true, encapsulations: ['vxlan'] },
    };
    const before = await s.durableSnapshot();
    const wrong = await ProtocolClient.connect(url, { identity: 'tp1:intruder', secret: 'not-the-np1-secret', peer: 'np1' });
    try {
      const bare = await wrong.once(wrong.build('INVITE', 'np-call-1', forwarded, false));
      expect(bare.status).toBe(401);
      expect(bare.body).toMatchObject({ realm: 'network-proxy:np1', algorithm: 'HMAC-SHA-256', nonce: expect.stringMatching(/^[0-9a-f]{32}$/) });
      const signed = await wrong.request('INVITE', forwarded, { callId: 'np-call-2' });
      expect(signed.status).toBe(403);
      expect(signed.reason).toBe('authentication failed: the digest does not match');
    } finally {
      await wrong.close();
    }
    expect(await s.durableSnapshot()).toBe(before);
    expect(s.syncs[0]!.requests).toEqual([]);

    // The same request with the shared secret does get through (so the refusals above were the secret's).
    const right = await ProtocolClient.connect(url, { identity: 'tp1:probe', secret: 'np1-shared-secret', peer: 'np1' });
    try {
      const ok = await right.request('INVITE', forwarded, { callId: 'np-call-3' });
      expect(ok.status, ok.reason).toBe(200);
      expect(await s.durableSnapshot()).not.toBe(before);
    } finally {
      await right.close();
    }
  });

  it('refuses a reused nonce-count with 403 and an unknown nonce with a fresh 401 (stale)', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    await h1.register(60);
    const first = h1.client.build('OPTIONS', 'nc-1', {});
    expect((await h1.client.once(first)).status).toBe(200);
    // A new transaction (new tid, new call) signed correctly but with the nonce-count already used.
    const { nonce, nc } = first.auth!;
    const sign = (r: Omit<Request, 'auth'>, n: string, count: number): Request => ({
      ...r,
      auth: { nonce: n, nc: count, response: digest(SECRETS.h1, { nonce: n, nc: count, method: r.method, from: r.from, callId: r.callId, tid: r.tid, cseq: r.cseq, body: r.body }) },
    });
    const base = { method: 'OPTIONS', cseq: 1, from: 'h1', to: 'tp1', body: {} };
    const replay = await h1.client.once(sign({ ...base, tid: randomUUID(), callId: 'nc-2' }, nonce, nc));
    expect(replay.status).toBe(403);
    expect(replay.reason).toBe(`nonce count ${nc} was already used`);
    // The next count of that nonce is fine (the replay did not burn the nonce).
    expect((await h1.client.once(sign({ ...base, tid: randomUUID(), callId: 'nc-3' }, nonce, nc + 100))).status).toBe(200);
    // A nonce this proxy never issued: 401 with a new nonce, marked stale.
    const stale = await h1.client.once(sign({ ...base, tid: randomUUID(), callId: 'nc-4' }, 'f'.repeat(32), 1));
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ stale: true, nonce: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(stale.body.nonce).not.toBe(nonce);
    // A nonce issued to h1 is no good for h2, even with h2's own secret.
    const h2 = await ProtocolClient.connect(s.url, { identity: 'h2', secret: SECRETS.h2, peer: 'tp1' });
    try {
      const r = { ...base, from: 'h2', tid: randomUUID(), callId: 'nc-5' };
      const theft = await h2.once({ ...r, auth: { nonce, nc: nc + 200, response: digest(SECRETS.h2, { nonce, nc: nc + 200, ...r }) } });
      expect(theft.status).toBe(403);
      expect(theft.reason).toBe('this nonce was issued to another identity');
    } finally {
      await h2.close();
    }
  });
});

describe('INVITE refusals that change nothing', () => {
  it('488 when no encapsulation is common to the tenant, the hNVE and both gateways', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    await h1.register(60);
    // mpls-over-gre: wan1 speaks it, but neither tgw1 nor h1 does.
    await addTenant('mpls', '203.0.113.64/28', '203.0.113.65', ['mpls-over-gre'], '65000:77');
    const before = await s.durableSnapshot();
    const r = await h1.invite({ mac: '02:00:00:00:0d:01' }, 'mpls');
    expect(r.status).toBe(488);
    expect(r.reason).toBe('branch np1: no encapsulation is common to the tenant, the hNVE, the WAN gateway and the ToR gateway');
    expect(r.body).toEqual({
      branch: 'np1',
      offered: { tenant: ['mpls-over-gre'], hnve: ['vxlan', 'nvgre'], wan1: ['vxlan', 'geneve', 'nvgre', 'mpls-over-gre'], tgw1: ['vxlan', 'nvgre'] },
    });
    expect(await s.durableSnapshot()).toBe(before);
  });

  it('503 with Retry-After when the VNI pool is exhausted, after the VLAN it took is given back', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    await h1.register(60);
    await s.inventory.setSettings({ vniPool: ['10000-10000'] });
    await addTenant('c1', '203.0.113.16/28', '203.0.113.17', ['vxlan'], '65000:78');
    await addTenant('c2', '203.0.113.32/28', '203.0.113.33', ['vxlan'], '65000:79');
    const a = await h1.invite({ mac: '02:00:00:00:0e:01' }, 'c1');
    expect(a.status, a.reason).toBe(200);
    expect(a.body).toMatchObject({ vni: 10000, vlan: 1000 });
    const before = await s.durableSnapshot();
    const b = await h1.invite({ mac: '02:00:00:00:0e:02' }, 'c2');
    expect(b.status).toBe(503);
    expect(b.retryAfter).toBe(30);
    expect(b.body).toMatchObject({ branch: 'np1', error: { code: 'exhausted' } });
    expect(await s.durableSnapshot()).toBe(before);
    // Retrying the same call once the pool has room (what Retry-After invites) succeeds: the refused
    // branch had undone itself, so nothing of it (no CANCEL mark) is left to poison the retry.
    await s.inventory.setSettings({ vniPool: ['10000-10001'] });
    const retry = await h1.invite({ mac: '02:00:00:00:0e:02' }, 'c2', { callId: b.callId });
    expect(retry.status, retry.reason).toBe(200);
    expect(retry.body).toMatchObject({ vni: 10001, vlan: 1001 });
  });
});

describe('another NVE’s session', () => {
  it('refuses INFO, INVITE with its call id and CANCEL of its INVITE with 403, changing nothing', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    const h2 = await s.agent('h2');
    await h1.register(60);
    await h2.register(60);
    const own = await h1.invite({ mac: '02:00:00:00:0f:01' }, 'acme');
    expect(own.status, own.reason).toBe(200);
    const before = await s.durableSnapshot();

    const info = await h2.client.request('INFO', { package: 'mac', add: ['02:00:00:00:0f:09'], delete: [] }, { callId: own.callId });
    expect(info.status).toBe(403);
    expect(info.reason).toBe(`session ${own.callId} belongs to another NVE`);
    const inv = await h2.invite({ mac: '02:00:00:00:0f:02' }, 'acme', { callId: own.callId });
    expect(inv.status).toBe(403);
    expect(inv.reason).toBe(`session ${own.callId} belongs to another NVE`);
    expect(await s.durableSnapshot()).toBe(before);
    // The owner still can (so the 403s were about ownership).
    const mine = await h1.client.request('INFO', { package: 'mac', add: ['02:00:00:00:0f:09'], delete: [] }, { callId: own.callId });
    expect(mine.status, mine.reason).toBe(200);

    // CANCEL of h1's INVITE in progress (wan1 never applies, so it stays in progress until the 2 s deadline).
    s.syncs[0]!.hang('wan1');
    const provisional: number[] = [];
    const pending = h1.invite({ mac: '02:00:00:00:0f:03' }, 'acme', { callId: 'h1-slow', onProvisional: (r) => provisional.push(r.status) });
    await expect.poll(() => provisional, { timeout: 20_000 }).toContain(183);
    const cancel = await h2.client.request('CANCEL', {}, { callId: 'h1-slow' });
    expect(cancel.status).toBe(403);
    expect(cancel.reason).toBe('session h1-slow belongs to another NVE');
    expect(JSON.parse((await s.t.redis.get(s.t.k.session('h1-slow')))!)).not.toHaveProperty('cancelled');
    // Not cancelled: it ends in the device deadline's 504, not in 487.
    const done = await pending;
    expect(done.status).toBe(504);
  });
});
