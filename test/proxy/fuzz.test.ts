// 5,000+ malformed, oversized and out-of-order messages against a live tenant proxy: each gets its
// 4xx on a connection that stays usable, and the store (everything but transient msg: keys, which
// all carry a TTL) is unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { digest } from '../../src/proxy/auth/digest.ts';
import { SECRETS, startStack, type Stack } from './harness.ts';

let s: Stack;
afterEach(() => s?.close());

describe('fuzz', () => {
  it('answers every bad message with a 4xx and changes nothing', async () => {
    s = await startStack();
    const h1 = await s.agent('h1');
    const h2 = await s.agent('h2');
    // h3 connects and signs correctly but never REGISTERs: everything it asks for is refused.
    const h3 = await s.agent('h3');
    await h1.register(300);
    await h2.register(300);
    const own = await h2.invite({ mac: '02:00:00:00:02:01' }, 'acme');
    expect(own.status).toBe(200);
    const before = await s.durableSnapshot();

    const raw = new WebSocket(s.url);
    await new Promise((r) => raw.once('open', r));
    const answers: number[] = [];
    raw.on('message', (d) => answers.push((JSON.parse(String(d)) as { status: number }).status));
    const c = h1.client;
    let sent = 0;
    const rnd = (n: number) => Math.floor(Math.random() * n);
    const beforeRegister: number[] = [];
    const replayed: number[] = [];
    const early = (r: { status: number }) => (beforeRegister.push(r.status), r.status);
    const signedBad: (() => Promise<number>)[] = [
      () => c.request('INVITE', { cid: 'acme', vm: { mac: 'zz:zz' } }).then((r) => r.status), // bad MAC → 400
      () => c.request('INVITE', { cid: 'acme', vm: { mac: '01:00:5e:00:00:01' } }).then((r) => r.status), // multicast MAC → 400
      () => c.request('INVITE', { cid: 'nobody', vm: { mac: '02:00:00:00:01:09' } }).then((r) => r.status), // unknown CID → 404
      () => c.request('INVITE', { cid: 7, vm: {} }).then((r) => r.status), // wrong types → 400
      () => c.request('BYE', {}, { callId: own.callId }).then((r) => r.status), // another NVE's session → 403
      () => c.request('BYE', {}, { callId: `nope-${rnd(1e9)}` }).then((r) => r.status), // no such session → 481
      () => c.request('REFER', {}).then((r) => r.status), // neither to nor vtep → 400
      () => c.request('FOO' as 'INFO', {}).then((r) => r.status), // unknown → 405
      () => h3.invite({ mac: '02:00:00:00:03:04' }, 'acme').then(early), // before REGISTER → 403
      () => h3.options().then(early), // before REGISTER → 403
      async () => {
        // replayed CSeq: the same call id with a CSeq already used, correctly signed for it (a digest
        // over another CSeq would be refused as a forgery, 403, before the CSeq is looked at) → 400
        const callId = `replay-${rnd(1e9)}`;
        await c.request('OPTIONS', {}, { callId });
        const r = c.build('OPTIONS', callId, {});
        const { nonce, nc } = r.auth!;
        const response = digest(SECRETS.h1, { nonce, nc, method: r.method, from: r.from, callId, tid: r.tid, cseq: 1, body: r.body });
        const status = (await c.once({ ...r, cseq: 1, auth: { nonce, nc, response } })).status;
        replayed.push(status);
        return status;
      },
    ];
    const rawBad = [
      () => '{not json',
      () => '[]',
      () => JSON.stringify({ method: 'INVITE' }),
      () => JSON.stringify({ method: 'INVITE', tid: 't', cseq: -1, callId: 'c', from: 'h1', to: 'tp1', body: {} }),
      () => JSON.stringify({ method: 'invite', tid: 't', cseq: 1, callId: 'c', from: 'h1', to: 'tp1', body: {} }),
      () => JSON.stringify({ method: 'INVITE', tid: `t${rnd(1e9)}`, cseq: 1, callId: 'c', from: 'h3', to: 'tp1', body: { cid: 'acme', vm: { mac: '02:00:00:00:03:03' } } }), // no auth → 401
      () => JSON.stringify({ method: 'BYE', tid: `t${rnd(1e9)}`, cseq: 1, callId: own.callId, from: 'h1', to: 'tp1', body: {}, auth: { nonce: '0'.repeat(32), nc: 1, response: 'a'.repeat(64) } }), // bad digest → 403
      () => 'x'.repeat(70 * 1024), // oversized → 413
      () => JSON.stringify({ method: 'INVITE', tid: 't', cseq: 1, callId: 'c', from: 'h1', to: 'tp1', body: 'str' }),
      () => JSON.stringify({ method: 'INVITE', tid: 't', cseq: 1, callId: 'c', from: 'h1', to: 'tp1', body: {}, extra: 1 }),
    ];
    const statuses: number[] = [];
    for (let round = 0; round < 250; round++) {
      for (let i = 0; i < 16; i++) {
        raw.send(rawBad[rnd(rawBad.length)]!());
        sent++;
      }
      statuses.push(...(await Promise.all(Array.from({ length: 4 }, () => signedBad[rnd(signedBad.length)]!()))));
      sent += 4;
    }
    await expect.poll(() => answers.length, { timeout: 30_000 }).toBe(4000);
    expect(sent).toBeGreaterThanOrEqual(5000);
    const all = [...answers, ...statuses];
    // Every answer is a 4xx.
    expect(all.filter((x) => x < 400 || x >= 500)).toEqual([]);
    expect(new Set(all)).toEqual(new Set([400, 401, 403, 404, 405, 413, 481]));
    expect(replayed.length).toBeGreaterThan(0);
    expect(new Set(replayed)).toEqual(new Set([400]));
    // h3's requests before REGISTER: each a 403, and h3 is still not registered.
    expect(beforeRegister.length).toBeGreaterThan(0);
    expect(new Set(beforeRegister)).toEqual(new Set([403]));
    expect(await s.t.redis.exists(s.t.k.registration('h3'))).toBe(0);
    expect((await h3.options()).reason).toBe('h3 is not registered: REGISTER first');
    // Still usable, and nothing changed.
    expect((await h1.options()).status).toBe(200);
    expect(await s.durableSnapshot()).toBe(before);
    for (const key of await s.t.redis.keys(`${s.t.prefix}msg:*`)) expect(await s.t.redis.ttl(key)).toBeGreaterThan(0);
    raw.close();
  }, 120_000);
});
