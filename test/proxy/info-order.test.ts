// The tenant proxy executes the in-dialog requests of one session (INFO, BYE) in CSeq order, whatever
// the client does (RFC 3261 §12.2.2): an INFO add and the delete that cancels it, sent back to back
// without waiting, never leave the MAC at any member. Real Redis, real WebSockets, raw clients that
// pipeline (the nvo agent waits for each answer; these do not). Members' tables are rebuilt from the
// NOTIFYs each hNVE received; aNVEs' from their desired state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinalAnswer, Request, Response } from '../../src/proxy/protocol/messages.ts';
import { CallOrder } from '../../src/proxy/tenant/call-order.ts';
import type { RequestContext } from '../../src/proxy/transport/ws-server.ts';
import { ProtocolClient } from '../../src/proxy/transport/ws-client.ts';
import type { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { SECRETS, startStack, startTenantProxy, type Stack } from './harness.ts';

let s: Stack;
const agents: Record<string, MessagingClient> = {};
const DEVICES = ['tor1', 'tor2', 'tor3', 'wan1', 'tgw1'];

/** An hNVE's table for acme as the NOTIFYs it got make it (entries applied once, in revision order). */
function tableOf(notifications: Request[]): { revision: number; macs: Map<string, string> } {
  const entries = new Map<number, { added: { mac: string; vtep: string }[]; removed: { mac: string }[] }>();
  for (const n of notifications) {
    if (n.body.event !== 'mac-table' || n.body.cid !== 'acme') continue;
    for (const e of n.body.entries as { revision: number; added: { mac: string; vtep: string }[]; removed: { mac: string }[] }[]) entries.set(e.revision, e);
  }
  const macs = new Map<string, string>();
  let revision = 0;
  for (const rev of [...entries.keys()].sort((a, b) => a - b)) {
    const e = entries.get(rev)!;
    for (const r of e.removed) macs.delete(r.mac);
    for (const a of e.added) macs.set(a.mac, a.vtep);
    revision = rev;
  }
  return { revision, macs };
}

/** Waits until every hNVE has heard every revision, then returns where each raced MAC still is. */
async function traces(macs: readonly string[]): Promise<string[]> {
  const rev = await s.tenant.deps.members.revision('acme');
  const members = [...new Set(sessions.map((x) => x.nve))].map((nve) => agents[nve]!);
  await expect.poll(() => members.map((a) => tableOf(a.notifications).revision), { timeout: 15_000 }).toEqual(members.map(() => rev));
  const found: string[] = [];
  const snap = await s.tenant.deps.members.snapshot('acme');
  for (const r of snap.table) if (macs.includes(r.mac)) found.push(`membership:${r.mac}`);
  for (const [nve, a] of Object.entries(agents)) for (const m of tableOf(a.notifications).macs.keys()) if (macs.includes(m)) found.push(`${nve}:${m}`);
  for (const d of DEVICES) for (const e of (await s.state.desired(d)).config.macs) if (macs.includes(e.mac)) found.push(`${d}:${e.mac}`);
  for (const sess of await s.tenant.deps.sessions.list()) for (const m of (sess as { macs?: string[] }).macs ?? []) if (macs.includes(m)) found.push(`session ${sess.callId}:${m}`);
  return found;
}

const info = (c: ProtocolClient, callId: string, body: { add?: string[]; delete?: string[] }) => c.request('INFO', { package: 'mac', ...body }, { callId });
const mac = (session: number, pair: number) => `02:00:00:00:0${session}:${(0xa0 + pair).toString(16)}`;
const cseqRefusal = /cseq \d+ is not above \d+/;

const sessions: { nve: string; callId: string }[] = [];

beforeAll(async () => {
  s = await startStack();
  for (const nve of ['h1', 'h2', 'h3'] as const) {
    agents[nve] = await s.agent(nve);
    expect((await agents[nve].register(600)).status).toBe(200);
  }
  // Two sessions on h1, one each on h2 and h3 (pod2), all in acme.
  for (const [nve, vm] of [['h1', 1], ['h1', 2], ['h2', 3], ['h3', 4]] as const) {
    const r = await agents[nve]!.invite({ mac: `02:00:00:00:0${vm}:01` }, 'acme');
    expect(r.status, r.reason).toBe(200);
    sessions.push({ nve, callId: r.callId });
  }
}, 60_000);
afterAll(() => s?.close());

describe('in-dialog requests of one session run in CSeq order at the tenant proxy', () => {
  it('INFO add and, at once, the delete that cancels it (three pairs on each of four sessions): no member keeps the MAC', async () => {
    const raced: string[] = [];
    const pairs = sessions.flatMap(({ nve, callId }, i) =>
      [1, 2, 3].map((p) => {
        const m = mac(i + 1, p);
        raced.push(m);
        // Both requests are on the wire before either is answered.
        return [info(agents[nve]!.client, callId, { add: [m] }), info(agents[nve]!.client, callId, { delete: [m] })];
      }),
    );
    const answers = await Promise.all(pairs.map((p) => Promise.all(p)));
    for (const [add, del] of answers) {
      expect([add!.status, del!.status], `${add!.reason} / ${del!.reason}`).toEqual([200, 200]);
      // The add was numbered (executed) before its delete.
      expect(add!.body.revision as number).toBeLessThan(del!.body.revision as number);
    }
    expect(await traces(raced)).toEqual([]);
  }, 60_000);

  it('INFO add and, at once, BYE of the same session: nothing of the session is left anywhere', async () => {
    const { nve, callId } = sessions.pop()!; // h3's session
    const added = '02:00:00:00:04:bb';
    const [add, bye] = await Promise.all([info(agents[nve]!.client, callId, { add: [added] }), agents[nve]!.bye(callId)]);
    expect([add.status, bye.status], `${add.reason} / ${bye.reason}`).toEqual([200, 200]);
    expect(await traces([added, '02:00:00:00:04:01'])).toEqual([]);
    expect(await s.tenant.deps.sessions.get(callId)).toBeNull();
  }, 60_000);

  it('a delete with a lower CSeq than the add sent before it: refused with 400 (or run first), the MAC stays everywhere', async () => {
    const { nve, callId } = sessions[0]!;
    const c = agents[nve]!.client;
    const m = '02:00:00:00:01:cc';
    const late = c.build('INFO', callId, { package: 'mac', delete: [m] });
    const del = c.build('INFO', callId, { package: 'mac', delete: [m] });
    const add = c.build('INFO', callId, { package: 'mac', add: [m] });
    expect([late.cseq, del.cseq, add.cseq]).toEqual([late.cseq, late.cseq + 1, late.cseq + 2]);
    const [a, d] = await Promise.all([c.once(add), c.once(del)]);
    expect(a.status, a.reason).toBe(200);
    // CSeq order: the delete either ran before the add (nothing to delete) or came too late for it.
    if (d.status === 200) expect(d.body.revision as number).toBeLessThan(a.body.revision as number);
    else expect([d.status, d.reason]).toEqual([400, expect.stringMatching(cseqRefusal)]);
    const everywhere = [`membership:${m}`, ...new Set(sessions.map((x) => `${x.nve}:${m}`)), `wan1:${m}`, `tgw1:${m}`, `session ${callId}:${m}`];
    expect((await traces([m])).sort()).toEqual(everywhere.sort());

    // Once the add is answered, a delete with a lower CSeq is always refused and changes nothing.
    const r = await c.once(late);
    expect([r.status, r.reason]).toEqual([400, expect.stringMatching(cseqRefusal)]);
    expect((await traces([m])).sort()).toEqual(everywhere.sort());
    expect((await info(c, callId, { delete: [m] })).status).toBe(200);
    expect(await traces([m])).toEqual([]);
  }, 60_000);

  it('add through one tenant-proxy process and its delete through another at once (one Redis): no member keeps the MAC', async () => {
    const second = await startTenantProxy(s.t, s.inventory, s.tenant.opts.networkProxies, { branchTimeoutMs: 10_000, graceMs: 60_000 });
    const { nve, callId } = sessions[2]!; // h2's session
    // The same NVE on two connections (as around a reconnect), its CSeq counted once for both.
    const cseqs = new Map([[callId, 1000]]); // above what h2's agent used in this call
    const conns = await Promise.all([s.url, second.url].map((url) => ProtocolClient.connect(url, { identity: nve, secret: SECRETS[nve as 'h2'], peer: 'tp1', cseqs, onRequest: (req) => {
      // Pushes now go to the newest connection: they count as h2's.
      agents[nve]!.notifications.push(req);
      return { status: 200 };
    } })));
    try {
      for (const c of conns) expect((await c.request('OPTIONS', {})).status).toBe(200); // each learns a nonce
      const raced: string[] = [];
      const answers: [Response, Response][] = [];
      for (const p of [1, 2, 3, 4]) {
        const m = mac(7, p);
        raced.push(m);
        answers.push(await Promise.all([info(conns[0]!, callId, { add: [m] }), info(conns[1]!, callId, { delete: [m] })]));
      }
      for (const [add, del] of answers) {
        expect(del.status, del.reason).toBe(200);
        // The delete may be admitted before the add (two sockets race to the proxies): then the add is late.
        if (add.status === 200) expect(add.body.revision as number).toBeLessThan(del.body.revision as number);
        else expect([add.status, add.reason]).toEqual([400, expect.stringMatching(cseqRefusal)]);
      }
      expect(await traces(raced)).toEqual([]);
    } finally {
      for (const c of conns) await c.close();
      await second.close();
    }
  }, 60_000);
});

describe('CallOrder across two processes on one Redis (no WebSocket: the handlers are held open by the test)', () => {
  it('a request at another process waits for the running one; one with a lower CSeq than an executed one gets 400', async () => {
    const [a, b] = [new CallOrder(s.t.redis, s.t.k), new CallOrder(s.t.redis, s.t.k)];
    const ctx = (cseq: number) => ({ identity: 'h1', req: { callId: 'order-1', cseq } }) as RequestContext;
    const ran: number[] = [];
    let finish!: () => void;
    const held = new Promise<void>((r) => (finish = r));
    const handler = (hold?: Promise<void>) => async (c: RequestContext): Promise<FinalAnswer> => {
      ran.push(c.req.cseq);
      await hold;
      return { status: 200, body: { cseq: c.req.cseq } };
    };
    const first = a.wrap(handler(held))(ctx(5));
    await expect.poll(() => ran).toEqual([5]);
    const second = b.wrap(handler())(ctx(7)); // after a reconnect, at the other process
    await new Promise((r) => setTimeout(r, 300));
    expect(ran).toEqual([5]); // still waiting for the lease
    finish();
    expect(await first).toEqual({ status: 200, body: { cseq: 5 } });
    expect(await second).toEqual({ status: 200, body: { cseq: 7 } });
    expect(ran).toEqual([5, 7]);
    await expect(a.wrap(handler())(ctx(6))).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/cseq 6 is not above 7/) });
    expect(ran).toEqual([5, 7]);
  }, 30_000);
});
