// REFER (use case 6): move every session of an hNVE to another hNVE (another host, another VTEP),
// make-before-break. Asked by the hNVE itself (REFER {to} or {vtep}) or by the admin (`nvo move`,
// through Redis: any tenant proxy process may take it). As RFC 3515 §2.4.4-§2.4.5: the request is
// answered 202 at once, then NOTIFY "refer" messages carry progress and the final status as a
// sipfrag-like line ("SIP/2.0 183 …", "SIP/2.0 200 OK").
//   1 prepare  the target configures the sessions' VNIs (segments, tunnels, remote MACs, VM ports)
//              and says so (INFO refer-ack); a refusal ends the move here: nothing else changed.
//   2 tunnels  the target's VTEP joins every flood list (hNVEs by the numbered MAC-table fan-out,
//              aNVEs by desired state); every member acknowledges, every device applies.
//   3 switch   the sessions' MACs point at the target; acknowledged and applied everywhere.
//   4 break    the old VTEP leaves the flood lists; the old hNVE lets the sessions go.
// A failure before step 4 puts everything back where it was; the old side is never touched before then.
//
// Nothing of a move lives only in the process that runs it: its record in Redis (refer-ledger.ts)
// holds the plan, the phase — written BEFORE the phase's work, and every phase's work can run again
// harmlessly — and a lease the runner renews. When the runner dies, any tenant proxy's sweep claims
// the move once the lease has lapsed and finishes it from the recorded phase: up to the switch it
// undoes it (the old side was never touched), in the break it completes the break, and in either
// case the requester gets the final NOTIFY. While a move runs or waits to be recovered, a REFER of
// its source or target is refused (409).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { id, ip } from '../../model/fields.ts';
import { parseInput } from '../../model/validate.ts';
import type { Keys } from '../../store/keys.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import type { CallOrder } from './call-order.ts';
import type { TenantDeps } from './deps.ts';
import { fanoutDeps, type InfoSession } from './info.ts';
import { fanout } from './mac-fanout.ts';
import { ReferLedger } from './refer-ledger.ts';
import { LeaseLostError } from '../../errors.ts';
import type { Registration } from './registrar.ts';

/** The REFER keys (store/keys.ts). */
export function referKeys(k: Keys) {
  return { refer: k.refer, requests: k.referRequests, progress: k.referProgress };
}

const referBody = z.union([z.strictObject({ to: id }), z.strictObject({ vtep: ip })], { error: 'give either to (an hNVE id) or vtep (its address)' });
const ackBody = z.strictObject({ package: z.literal('refer-ack'), referId: z.uuid(), status: z.number().int().min(200).max(699), reason: z.string().max(1024).default('') });
// The referId names Redis keys (store/keys.ts), so only a UUID is taken.
const adminRequest = z.object({ referId: z.uuid(), source: id, to: id.optional(), vtep: ip.optional() });

export interface ReferPlan {
  referId: string;
  source: Registration;
  target: Registration;
  sessions: InfoSession[];
}

export interface ReferOptions {
  /** Each phase waits this long for acknowledgements and device syncs. */
  phaseTimeoutMs?: number;
  /** The runner's lease; a move whose runner stopped renewing it this long is recovered. */
  leaseMs?: number;
  /** INFO and BYE's per-call order (call-order.ts): a session's transfer takes the same lease. */
  order?: CallOrder;
  /** Test hook (NVO_TEST_REFER_HOLD): having recorded this phase (or transferred the first session:
   *  `switch:first-transfer`), the runner waits there for ever, so a test can kill -9 it at a known point. */
  holdAt?: string;
}

/** Where a move stands; recorded before the phase's work starts. `final`: only telling the requester is left. */
type Phase = 'prepare' | 'tunnels' | 'switch' | 'break' | 'undo' | 'final';

interface Move {
  p: ReferPlan;
  requester: string;
  /** This run's lease token. */
  token: string;
  cids: string[];
}

interface Outcome {
  status: number;
  reason: string;
}

export class ReferCoordinator {
  private readonly rk: ReturnType<typeof referKeys>;
  private readonly ledger: ReferLedger;
  private runs = 0;

  constructor(
    private readonly d: TenantDeps,
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly o: ReferOptions = {},
  ) {
    this.rk = referKeys(k);
    this.ledger = new ReferLedger(redis, k, o.leaseMs);
  }

  /** Checks the move can start at all; 4xx answers come from here, before any 202. */
  async plan(source: string, to: { to?: string; vtep?: string }): Promise<ReferPlan> {
    const src = await this.d.registrar.get(source);
    if (!src) throw new StatusError(404, `${source} is not registered`);
    const target = to.to ? await this.d.registrar.get(to.to) : (await this.d.registrar.list()).find((r) => r.vtep === to.vtep && r.nve !== source);
    if (!target) throw new StatusError(404, to.to ? `${to.to} is not registered` : `no registered hNVE has VTEP ${to.vtep}`);
    if (target.nve === source || target.vtep === src.vtep) throw new StatusError(400, `${source} is already at ${target.vtep}`);
    if (target.pod !== src.pod) throw new StatusError(488, `${target.nve} is in pod ${target.pod}, ${source} in pod ${src.pod}: moves stay within a pod (the VLAN is the pod's)`);
    const sessions: InfoSession[] = [];
    for (const callId of await this.d.sessions.ofNve(source)) {
      const s = (await this.d.sessions.get(callId)) as InfoSession | null;
      if (s?.state === 'established' && s.nve === source) sessions.push(s);
    }
    if (sessions.length === 0) throw new StatusError(481, `${source} has no established session to move`);
    return { referId: randomUUID(), source: src, target, sessions };
  }

  handler() {
    return async (ctx: RequestContext): Promise<FinalAnswer> => {
      const body = parseInput(referBody, ctx.req.body, 'REFER', ['body']) as { to?: string; vtep?: string };
      const m = await this.begin(await this.plan(ctx.identity, body), ctx.identity);
      void this.drive(m, () => this.forward(m));
      return { status: 202, reason: 'Accepted', body: { referId: m.p.referId, from: m.p.source.nve, to: m.p.target.nve } };
    };
  }

  /** INFO refer-ack from the target: ready (2xx) or not. */
  ackHandler() {
    return async (ctx: RequestContext): Promise<FinalAnswer> => {
      const b = parseInput(ackBody, ctx.req.body, 'INFO refer-ack', ['body']);
      const [target, source] = await this.redis.hmget(this.rk.refer(b.referId), 'target', 'source');
      // The old hNVE acknowledges getting its sessions back in an undo (giveBack): nothing waits for that.
      if (source === ctx.identity) return { status: 200, body: {} };
      if (target !== ctx.identity) throw new StatusError(481, `no move ${b.referId} to ${ctx.identity}`);
      await this.redis.hset(this.rk.refer(b.referId), { ackStatus: b.status, ackReason: b.reason });
      return { status: 200, body: {} };
    };
  }

  /** Records the move with its plan and takes its lease; 409 while the source or the target takes
   *  part in another move (RFC 3261 would say 491 Request Pending; the protocol's 409 is "not now"). */
  private async begin(p: ReferPlan, requester: string): Promise<Move> {
    const token = this.token();
    const plan = JSON.stringify({ source: p.source, target: p.target, sessions: p.sessions });
    const fields = { source: p.source.nve, target: p.target.nve, requester, plan, phase: 'trying', state: 'trying', status: 100, reason: 'Trying' };
    const busy = await this.ledger.begin(p.referId, p.source.nve, p.target.nve, token, fields);
    if (busy) throw new StatusError(409, `${p.source.nve} or ${p.target.nve} takes part in move ${busy}, which has not ended`, { referId: busy });
    return this.move(p, requester, token);
  }

  private token(): string {
    return `${this.d.proc}#${++this.runs}`;
  }

  private move(p: ReferPlan, requester: string, token: string): Move {
    return { p, requester, token, cids: [...new Set(p.sessions.map((s) => s.cid))].sort() };
  }

  /** Runs (part of) a move holding its lease. A runner that lost the lease stops without a word: the
   *  process that took the move over finishes it. */
  private async drive(m: Move, leg: () => Promise<Outcome>): Promise<Outcome | null> {
    const stop = this.ledger.keep(m.p.referId, m.token);
    try {
      return await leg();
    } catch (e) {
      if (e instanceof LeaseLostError) this.d.log.warn({ referId: m.p.referId, err: e.message }, 'REFER taken over by another process');
      else this.d.log.error({ referId: m.p.referId, err: e instanceof Error ? e.message : String(e) }, 'REFER failed');
      return null;
    } finally {
      stop();
    }
  }

  private async enter(m: Move, phase: Phase, fields: Record<string, string | number> = {}): Promise<void> {
    await this.ledger.write(m.p.referId, m.token, { phase, ...fields });
    await this.hold(m, phase);
  }

  /** The test hook: at a phase (having recorded it) or at `switch:first-transfer`, wait for ever. */
  private async hold(m: Move, point: string): Promise<void> {
    if (this.o.holdAt !== point) return;
    this.d.log.warn({ event: 'refer-held', referId: m.p.referId, phase: point }, 'REFER held by the test hook NVO_TEST_REFER_HOLD');
    await new Promise(() => undefined);
  }

  /** Steps 1-3, then the break; a failure before the break undoes the move. */
  private async forward(m: Move): Promise<Outcome> {
    const { p, cids } = m;
    const to = p.target.vtep;
    let switched = false;
    await this.say(m, 100, 'Trying');
    try {
      await this.enter(m, 'prepare');
      await this.say(m, 183, `preparing ${p.target.nve} (${to})`);
      await this.prepare(m);

      await this.enter(m, 'tunnels');
      await this.say(m, 183, `tunnels to ${to} on every member of ${cids.join(', ')}`);
      for (const cid of cids) await this.d.members.flood(cid, to, 'add');
      await this.everywhere(p, cids, 'add');

      await this.enter(m, 'switch');
      switched = true;
      await this.say(m, 183, `MACs of ${p.sessions.length} session(s) now behind ${to}`);
      // The old VTEP stays in the flood lists (as a joining one) when its MACs leave, until the break.
      for (const cid of cids) await this.d.members.flood(cid, p.source.vtep, 'add');
      for (const [i, s] of p.sessions.entries()) {
        await this.transfer(s.callId, p.source.nve, p.target);
        if (i === 0) await this.hold(m, 'switch:first-transfer');
      }
      await this.everywhere(p, cids, 'switch');
    } catch (e) {
      if (e instanceof LeaseLostError) throw e;
      const status = e instanceof StatusError ? e.status : 500;
      return this.rollback(m, status, `${e instanceof Error ? e.message : String(e)}; ${p.source.nve} left as it was`, switched);
    }
    return this.breakOld(m);
  }

  /** Step 4: only now does anything of the old location go. */
  private async breakOld(m: Move): Promise<Outcome> {
    const { p, cids } = m;
    await this.enter(m, 'break');
    try {
      await this.say(m, 183, `removing ${p.source.vtep} from the flood lists`);
      for (const cid of cids) {
        await this.d.members.flood(cid, p.target.vtep, 'remove');
        await this.d.members.flood(cid, p.source.vtep, 'remove');
      }
      await this.forkAll(p, 'drop');
      await this.fan(p, cids);
      await this.notify(p.source.nve, p.referId, this.doneBody(p));
      await this.notify(p.target.nve, p.referId, this.doneBody(p));
    } catch (e) {
      if (e instanceof LeaseLostError) throw e;
      // The sessions are at the target and reachable; only clean-up of the old tunnels failed.
      return this.conclude(m, 500, `moved, but removing the old tunnels failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return this.conclude(m, 200, 'OK');
  }

  /** Everything back as before the move, then the final status. `switched`: sessions may have changed hands. */
  private async rollback(m: Move, status: number, reason: string, switched: boolean): Promise<Outcome> {
    await this.enter(m, 'undo', { finalStatus: status, finalReason: reason, switched: switched ? 1 : 0 });
    await this.undo(m, switched).catch((u: unknown) => this.d.log.error({ err: String(u), referId: m.p.referId }, 'REFER undo failed'));
    return this.conclude(m, status, reason);
  }

  /** The final status is recorded before it is told (a sweep tells it again if this process dies
   *  first), then the move ends: the lease and the hNVEs' busy keys go, the record stays. */
  private async conclude(m: Move, status: number, reason: string): Promise<Outcome> {
    await this.enter(m, 'final', { finalStatus: status, finalReason: reason });
    await this.say(m, status, reason);
    await this.ledger.finish(m.p.referId, m.p.source.nve, m.p.target.nve, m.token);
    return { status, reason };
  }

  private doneBody(p: ReferPlan) {
    return { event: 'refer-done', referId: p.referId, from: p.source.nve, to: p.target.nve, callIds: p.sessions.map((s) => s.callId) };
  }

  private async prepare(m: Move): Promise<void> {
    const { p, cids } = m;
    const pushed = await this.notify(p.target.nve, p.referId, await this.prepareBody(p, p.source.nve, p.sessions, cids));
    if (!pushed) throw new StatusError(503, `${p.target.nve} is not registered`);
    const key = this.rk.refer(p.referId);
    await this.until(`${p.target.nve} to prepare`, async () => {
      const [status, reason] = await this.redis.hmget(key, 'ackStatus', 'ackReason');
      if (status === null) return false;
      if (Number(status) >= 300) throw new StatusError(503, `${p.target.nve} could not take the sessions: ${reason ?? ''}`.trim());
      return true;
    });
  }

  /** One session changes hands, holding the call's order lease of both hNVEs (call-order.ts): an INFO
   *  or BYE of the session runs wholly before or after, never halfway through. Runs again harmlessly:
   *  a session already at `to` only has its MACs pointed there (a no-op when they are); one that ended
   *  meanwhile (BYE) is left alone. The session record changes hands in one MULTI, so no moment exists
   *  (nor a crash leaves one) where the session is nobody's. */
  private async transfer(callId: string, from: string, to: Registration): Promise<void> {
    const work = async () => {
      const s = await this.d.sessions.get(callId);
      if (!s || (s.nve !== from && s.nve !== to.nve)) return;
      if (s.nve === from) {
        const moved = { ...s, nve: to.nve, answer: { ...s.answer, vtep: to.vtep } };
        await this.redis.multi().set(this.k.session(callId), JSON.stringify(moved), 'XX').srem(this.k.sessionsOfNve(from), callId).sadd(this.k.sessionsOfNve(to.nve), callId).exec();
      }
      await this.d.members.move(s.cid, callId, to.vtep, to.nve);
    };
    const order = this.o.order;
    if (!order) return work();
    // Always in the same order of the two leases, whichever way the session goes.
    const [a, b] = [from, to.nve].sort() as [string, string];
    return order.hold(a, callId, () => order.hold(b, callId, work));
  }

  /** Back to before the move. Every step is a no-op where it is so already, so a sweep may run it after
   *  a crash at any point of steps 1-3 (or of an earlier undo). */
  private async undo(m: Move, switched: boolean): Promise<void> {
    const { p, cids } = m;
    for (const s of p.sessions) await this.transfer(s.callId, p.target.nve, p.source);
    for (const cid of cids) {
      await this.d.members.flood(cid, p.target.vtep, 'remove');
      await this.d.members.flood(cid, p.source.vtep, 'remove');
    }
    await this.forkAll(p, 'abort').catch(() => undefined);
    await this.fan(p, cids);
    await this.notify(p.target.nve, p.referId, { event: 'refer-abort', referId: p.referId, callIds: p.sessions.map((s) => s.callId) });
    if (switched) await this.giveBack(m);
  }

  /** The old hNVE may have re-learnt its sessions (INFO state, after a reconnect: its proxy died) while
   *  some were the target's, and let those go. It is given them back as a target is given sessions:
   *  refer-prepare (its sessions, the full tables), then refer-done naming it as the one they go to.
   *  Where it still has them, this changes nothing. */
  private async giveBack(m: Move): Promise<void> {
    const { p, cids } = m;
    const mine: InfoSession[] = [];
    for (const x of p.sessions) {
      const s = (await this.d.sessions.get(x.callId)) as InfoSession | null;
      if (s?.nve === p.source.nve) mine.push(s);
    }
    if (mine.length === 0) return;
    await this.notify(p.source.nve, p.referId, await this.prepareBody(p, p.target.nve, mine, cids.filter((cid) => mine.some((s) => s.cid === cid))));
    await this.notify(p.source.nve, p.referId, { event: 'refer-done', referId: p.referId, from: p.target.nve, to: p.source.nve, callIds: mine.map((s) => s.callId) });
  }

  /** NOTIFY refer-prepare: the sessions an hNVE is to take (with its VTEP) and the full tables of their VNIs. */
  private async prepareBody(p: ReferPlan, from: string, sessions: InfoSession[], cids: string[]): Promise<Record<string, unknown>> {
    const vnis = [];
    for (const cid of cids) vnis.push({ cid, vni: sessions.find((s) => s.cid === cid)?.answer?.vni ?? null, mode: 'full', ...(await this.d.members.snapshot(cid)) });
    const taken = sessions.map((s) => ({ callId: s.callId, cid: s.cid, mac: s.mac, macs: s.macs ?? [], answer: { ...s.answer, vtep: from === p.source.nve ? p.target.vtep : p.source.vtep } }));
    return { event: 'refer-prepare', referId: p.referId, from, sessions: taken, vnis };
  }

  /** The phase at the network proxies (aNVEs applied) and the fan-out to hNVEs (every one acknowledged). */
  private async everywhere(p: ReferPlan, cids: string[], phase: 'add' | 'switch'): Promise<void> {
    await this.forkAll(p, phase);
    await this.fan(p, cids);
    for (const cid of cids) {
      const rev = await this.d.members.revision(cid);
      const nves = new Set([...(await this.d.members.members(cid)).map((m) => m.nve), p.target.nve, p.source.nve]);
      await this.until(`every member of ${cid} to acknowledge revision ${rev}`, async () => {
        const acks = await this.d.members.acks(cid);
        return [...nves].every((n) => (acks[n] ?? 0) >= rev);
      });
    }
  }

  private async fan(p: ReferPlan, cids: string[]): Promise<void> {
    for (const cid of cids) await fanout(fanoutDeps(this.d, p.sessions.find((s) => s.cid === cid)), cid, [p.source.nve, p.target.nve]);
  }

  private async forkAll(p: ReferPlan, phase: string): Promise<void> {
    for (const s of p.sessions) {
      // A session that ended during the move (BYE) has nothing left at the network proxies to rewrite.
      if (!(await this.d.sessions.get(s.callId))) continue;
      const targets = this.d.links.forPod(s.pod).filter((t) => s.branches.includes(t.id));
      const { failed } = await this.d.links.fork(targets, 'REFER', s.callId, { phase, from: p.source.vtep, to: p.target.vtep });
      if (failed) throw new StatusError(failed.res.status >= 500 ? 503 : 500, `network proxy ${failed.proxy} (${phase}): ${failed.res.reason}`);
    }
  }

  private async until(what: string, done: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + (this.o.phaseTimeoutMs ?? 15_000);
    while (!(await done())) {
      if (Date.now() > deadline) throw new StatusError(504, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A NOTIFY to an hNVE, sent once its registration names a live process (one that listens on its
   *  delivery channel): after a tenant proxy's crash the registration names the dead one until the
   *  hNVE has reconnected to another, and a push there would be lost. False when not registered. */
  private async notify(nve: string, referId: string, body: Record<string, unknown>): Promise<boolean> {
    const deadline = Date.now() + (this.o.phaseTimeoutMs ?? 15_000);
    for (;;) {
      const reg = await this.d.registrar.get(nve);
      if (!reg) return false;
      const [, listeners] = (await this.redis.pubsub('NUMSUB', this.k.msgDeliver(reg.proc))) as [string, number];
      if (Number(listeners) > 0 || Date.now() > deadline) return this.d.delivery.push(nve, 'NOTIFY', `refer-${referId}`, body);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Progress and the final status to the requester: an hNVE by NOTIFY, the admin on a Redis channel. */
  private async say(m: Move, status: number, reason: string): Promise<void> {
    const { referId } = m.p;
    const final = status >= 200;
    const body = { event: 'refer', referId, status, reason, final, sipfrag: `SIP/2.0 ${status} ${reason}` };
    // `state: done` is written when the move ends (refer-ledger.ts finish), after this.
    await this.redis.hset(this.rk.refer(referId), final ? { status, reason } : { state: 'proceeding', status, reason });
    if (m.requester === 'admin') await this.redis.publish(this.rk.progress(referId), JSON.stringify(body));
    else await this.notify(m.requester, referId, body);
  }

  /** Claims every move whose runner stopped renewing its lease and finishes it (in the background);
   *  returns the moves claimed. Every tenant proxy runs this at start and then periodically. */
  async sweep(): Promise<string[]> {
    const claimed: string[] = [];
    for (const referId of await this.ledger.active()) {
      const token = this.token();
      const c = await this.ledger.claim(referId, token);
      if (c === 'gone' || c === 'done') await this.ledger.forget(referId);
      if (c !== 'ok') continue;
      const r = await this.ledger.record(referId);
      const plan = JSON.parse(r.plan ?? 'null') as Omit<ReferPlan, 'referId'> | null;
      if (!plan || !r.requester) {
        this.d.log.error({ referId }, 'REFER record without a plan: left as it is');
        await this.ledger.forget(referId);
        continue;
      }
      const m = this.move({ ...plan, referId }, r.requester, token);
      claimed.push(referId);
      void this.drive(m, () => this.resume(m, r.phase ?? 'trying', Number(r.finalStatus ?? 500), r.finalReason ?? '', r.switched === '1'));
    }
    return claimed;
  }

  /** A claimed move, from the phase its dead runner recorded. */
  private async resume(m: Move, phase: string, finalStatus: number, finalReason: string, switched: boolean): Promise<Outcome> {
    const { p } = m;
    this.d.log.warn({ referId: p.referId, phase, from: p.source.nve, to: p.target.nve }, 'REFER recovered: its tenant proxy stopped');
    if (phase === 'final') return this.conclude(m, finalStatus, finalReason);
    const why = `the tenant proxy running the move stopped during ${phase}`;
    if (phase === 'break') {
      await this.say(m, 183, `${why}; completing it`);
      return this.breakOld(m);
    }
    await this.say(m, 183, `${why}; undoing it`);
    // In the switch some sessions may be at the target already: the undo brings them back.
    if (phase === 'undo') return this.rollback(m, finalStatus, finalReason, switched);
    return this.rollback(m, 503, `${why}; ${p.source.nve} left as it was`, phase === 'switch');
  }

  /** Takes the admin's moves from the Redis channel; each is run by the one process that claims it. */
  async listen(sub: Redis): Promise<void> {
    await sub.subscribe(this.rk.requests);
    sub.on('message', (channel: string, raw: string) => {
      if (channel !== this.rk.requests) return;
      void this.fromAdmin(raw).catch((e: unknown) => this.d.log.error({ err: String(e) }, 'admin REFER failed'));
    });
  }

  private async fromAdmin(raw: string): Promise<void> {
    const req = adminRequest.parse(JSON.parse(raw));
    const key = this.rk.refer(req.referId);
    // The first process to write the record takes the request.
    if (!(await this.redis.hsetnx(key, 'claimedBy', this.d.proc))) return;
    await this.redis.expire(key, 86_400);
    const progress = (status: number, reason: string, final: boolean) =>
      this.redis.publish(this.rk.progress(req.referId), JSON.stringify({ event: 'refer', referId: req.referId, status, reason, final, sipfrag: `SIP/2.0 ${status} ${reason}` }));
    let m: Move;
    try {
      m = await this.begin({ ...(await this.plan(req.source, req)), referId: req.referId }, 'admin');
    } catch (e) {
      const status = e instanceof StatusError ? e.status : 500;
      const reason = e instanceof Error ? e.message : String(e);
      await this.redis.hset(key, { state: 'done', status, reason });
      await progress(status, reason, true);
      return;
    }
    await progress(202, 'Accepted', false);
    await this.drive(m, () => this.forward(m));
  }
}
