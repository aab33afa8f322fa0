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
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { id, ip } from '../../model/fields.ts';
import { parseInput } from '../../model/validate.ts';
import type { Keys } from '../../store/keys.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import type { TenantDeps } from './deps.ts';
import { fanoutDeps, type InfoSession } from './info.ts';
import { fanout } from './mac-fanout.ts';
import type { Registration } from './registrar.ts';
import type { Session } from './sessions.ts';

/** The REFER keys (store/keys.ts). */
export function referKeys(k: Keys) {
  return { refer: k.refer, requests: k.referRequests, progress: k.referProgress };
}

const referBody = z.union([z.strictObject({ to: id }), z.strictObject({ vtep: ip })], { error: 'give either to (an hNVE id) or vtep (its address)' });
const ackBody = z.strictObject({ package: z.literal('refer-ack'), referId: z.uuid(), status: z.number().int().min(200).max(699), reason: z.string().max(1024).default('') });

export interface ReferPlan {
  referId: string;
  source: Registration;
  target: Registration;
  sessions: InfoSession[];
}

export interface ReferOptions {
  /** Each phase waits this long for acknowledgements and device syncs. */
  phaseTimeoutMs?: number;
}

export class ReferCoordinator {
  private readonly rk: ReturnType<typeof referKeys>;

  constructor(
    private readonly d: TenantDeps,
    private readonly redis: Redis,
    k: Keys,
    private readonly o: ReferOptions = {},
  ) {
    this.rk = referKeys(k);
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
      const p = await this.plan(ctx.identity, body);
      void this.run(p, ctx.identity);
      return { status: 202, reason: 'Accepted', body: { referId: p.referId, from: p.source.nve, to: p.target.nve } };
    };
  }

  /** INFO refer-ack from the target: ready (2xx) or not. */
  ackHandler() {
    return async (ctx: RequestContext): Promise<FinalAnswer> => {
      const b = parseInput(ackBody, ctx.req.body, 'INFO refer-ack', ['body']);
      const target = await this.redis.hget(this.rk.refer(b.referId), 'target');
      if (target !== ctx.identity) throw new StatusError(481, `no move ${b.referId} to ${ctx.identity}`);
      await this.redis.hset(this.rk.refer(b.referId), { ackStatus: b.status, ackReason: b.reason });
      return { status: 200, body: {} };
    };
  }

  /** Runs a move to its end; `requester` is an hNVE id, or 'admin' (progress on a Redis channel). */
  async run(p: ReferPlan, requester: string): Promise<{ status: number; reason: string }> {
    const key = this.rk.refer(p.referId);
    await this.redis.hset(key, { source: p.source.nve, target: p.target.nve, requester, state: 'trying', status: 100, reason: 'Trying' });
    await this.redis.expire(key, 86_400);
    const say = (status: number, reason: string) => this.report(p, requester, status, reason);
    const cids = [...new Set(p.sessions.map((s) => s.cid))].sort();
    const from = p.source.vtep;
    const to = p.target.vtep;
    let switched = false;
    await say(100, 'Trying');
    try {
      await say(183, `preparing ${p.target.nve} (${to})`);
      await this.prepare(p, cids);

      await say(183, `tunnels to ${to} on every member of ${cids.join(', ')}`);
      for (const cid of cids) await this.d.members.flood(cid, to, 'add');
      await this.everywhere(p, cids, 'add');

      await say(183, `MACs of ${p.sessions.length} session(s) now behind ${to}`);
      switched = true;
      // The old VTEP stays in the flood lists (as a joining one) when its MACs leave, until the break.
      for (const cid of cids) await this.d.members.flood(cid, from, 'add');
      for (const s of p.sessions) await this.transfer(s, p.target.nve, to);
      await this.everywhere(p, cids, 'switch');
    } catch (e) {
      await this.undo(p, cids, switched).catch((u: unknown) => this.d.log.error({ err: String(u), referId: p.referId }, 'REFER undo failed'));
      const status = e instanceof StatusError ? e.status : 500;
      const reason = e instanceof Error ? e.message : String(e);
      await say(status, `${reason}; ${p.source.nve} left as it was`);
      return { status, reason };
    }
    // Break: only now does anything of the old location go.
    try {
      await say(183, `removing ${from} from the flood lists`);
      for (const cid of cids) {
        await this.d.members.flood(cid, to, 'remove');
        await this.d.members.flood(cid, from, 'remove');
      }
      await this.forkAll(p, 'drop');
      await this.fan(p, cids);
      await this.d.delivery.push(p.source.nve, 'NOTIFY', `refer-${p.referId}`, this.doneBody(p));
      await this.d.delivery.push(p.target.nve, 'NOTIFY', `refer-${p.referId}`, this.doneBody(p));
      await say(200, 'OK');
      return { status: 200, reason: 'OK' };
    } catch (e) {
      // The sessions are at the target and reachable; only clean-up of the old tunnels failed.
      const reason = `moved, but removing the old tunnels failed: ${e instanceof Error ? e.message : String(e)}`;
      await say(500, reason);
      return { status: 500, reason };
    }
  }

  private doneBody(p: ReferPlan) {
    return { event: 'refer-done', referId: p.referId, from: p.source.nve, to: p.target.nve, callIds: p.sessions.map((s) => s.callId) };
  }

  private async prepare(p: ReferPlan, cids: string[]): Promise<void> {
    const vnis = [];
    for (const cid of cids) vnis.push({ cid, vni: p.sessions.find((s) => s.cid === cid)?.answer?.vni ?? null, mode: 'full', ...(await this.d.members.snapshot(cid)) });
    const sessions = p.sessions.map((s) => ({ callId: s.callId, cid: s.cid, mac: s.mac, macs: s.macs ?? [], answer: { ...s.answer, vtep: p.target.vtep } }));
    const pushed = await this.d.delivery.push(p.target.nve, 'NOTIFY', `refer-${p.referId}`, { event: 'refer-prepare', referId: p.referId, from: p.source.nve, sessions, vnis });
    if (!pushed) throw new StatusError(503, `${p.target.nve} is not registered`);
    const key = this.rk.refer(p.referId);
    await this.until(`${p.target.nve} to prepare`, async () => {
      const [status, reason] = await this.redis.hmget(key, 'ackStatus', 'ackReason');
      if (status === null) return false;
      if (Number(status) >= 300) throw new StatusError(503, `${p.target.nve} could not take the sessions: ${reason ?? ''}`.trim());
      return true;
    });
  }

  private async transfer(s: InfoSession, nve: string, vtep: string): Promise<void> {
    const moved = { ...s, nve, answer: { ...s.answer, vtep } } as Session;
    await this.d.sessions.remove(s);
    await this.d.sessions.create(moved);
    await this.d.members.move(s.cid, s.callId, vtep, nve);
  }

  private async undo(p: ReferPlan, cids: string[], switched: boolean): Promise<void> {
    if (switched) for (const s of p.sessions) await this.transfer({ ...s, nve: p.target.nve }, p.source.nve, p.source.vtep);
    for (const cid of cids) {
      await this.d.members.flood(cid, p.target.vtep, 'remove');
      await this.d.members.flood(cid, p.source.vtep, 'remove');
    }
    await this.forkAll(p, 'abort').catch(() => undefined);
    await this.fan(p, cids);
    await this.d.delivery.push(p.target.nve, 'NOTIFY', `refer-${p.referId}`, { event: 'refer-abort', referId: p.referId, callIds: p.sessions.map((s) => s.callId) });
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

  private async report(p: ReferPlan, requester: string, status: number, reason: string): Promise<void> {
    const final = status >= 200;
    const body = { event: 'refer', referId: p.referId, status, reason, final, sipfrag: `SIP/2.0 ${status} ${reason}` };
    await this.redis.hset(this.rk.refer(p.referId), { state: final ? 'done' : 'proceeding', status, reason });
    if (requester === 'admin') await this.redis.publish(this.rk.progress(p.referId), JSON.stringify(body));
    else await this.d.delivery.push(requester, 'NOTIFY', `refer-${p.referId}`, body);
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
    const m = JSON.parse(raw) as { referId: string; source: string; to?: string; vtep?: string };
    if (!(await this.redis.set(`${this.rk.refer(m.referId)}:claim`, this.d.proc, 'EX', 86_400, 'NX'))) return;
    let p: ReferPlan;
    try {
      p = { ...(await this.plan(m.source, m)), referId: m.referId };
    } catch (e) {
      const status = e instanceof StatusError ? e.status : 500;
      const reason = e instanceof Error ? e.message : String(e);
      await this.redis.publish(this.rk.progress(m.referId), JSON.stringify({ event: 'refer', referId: m.referId, status, reason, final: true, sipfrag: `SIP/2.0 ${status} ${reason}` }));
      return;
    }
    await this.redis.publish(this.rk.progress(m.referId), JSON.stringify({ event: 'refer', referId: m.referId, status: 202, reason: 'Accepted', final: false, sipfrag: 'SIP/2.0 202 Accepted' }));
    await this.run(p, 'admin');
  }
}
