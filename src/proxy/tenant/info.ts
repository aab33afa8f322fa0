// INFO (use case 5) at the tenant proxy. Like SIP INFO packages (RFC 6086 §3: the package says what
// the body means), `body.package` says which of these it is:
//   mac        {add?: [MAC], delete?: [MAC]} in the call of one of the NVE's sessions: more MACs for
//              that VM (or fewer). The network proxies change membership and the aNVEs' desired
//              state; the hNVEs of the VNI then hear of it through the numbered fan-out.
//   state      {vnis: {CID: revision}}: the NVE (back after a reconnect) asks for the full state of
//              its sessions and, per VNI, the entries above the revision it has (or the whole table).
//   ack        {vnis: {CID: revision}}: the NVE has applied up to these revisions.
//   refer-ack  {referId, status, reason?}: the target of a REFER says whether it is ready (refer.ts).
import { z } from 'zod';
import { id, mac } from '../../model/fields.ts';
import { unicastMacReason } from '../../model/net.ts';
import { invalidInput, parseInput } from '../../model/validate.ts';
import type { FinalAnswer, Request, Response } from '../protocol/messages.ts';
import { StatusError, type Status } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import type { TenantDeps } from './deps.ts';
import { requireRegistered } from './invite.ts';
import { fanout } from './mac-fanout.ts';
import type { Session } from './sessions.ts';
import type { CallOrder } from './call-order.ts';

/** A session with the MACs INFO added beyond its first. */
export type InfoSession = Session & { macs?: string[] };

const macList = z.array(mac).max(256, 'at most 256 MACs in one INFO');
const revisions = z.record(id, z.number().int('must be a whole number').min(0));
const macBody = z.strictObject({ package: z.literal('mac'), add: macList.default([]), delete: macList.default([]) });
const stateBody = z.strictObject({ package: z.literal('state'), vnis: revisions.default({}) });
const ackBody = z.strictObject({ package: z.literal('ack'), vnis: revisions });
const PACKAGES = ['mac', 'state', 'ack', 'refer-ack'];

export type ReferAckHandler = (ctx: RequestContext) => Promise<FinalAnswer>;

export function infoHandler(d: TenantDeps, referAck: ReferAckHandler, order: CallOrder) {
  // Only the mac package changes a table: it alone takes the call's order (call-order.ts).
  const mac = order.wrap(async (ctx) => {
    await requireRegistered(d, ctx.identity);
    return macInfo(d, ctx);
  });
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const pkg = ctx.req.body.package;
    // Handed on before any await: the order is taken in the order the server admitted the requests.
    if (pkg === 'mac') return mac(ctx);
    await requireRegistered(d, ctx.identity);
    if (pkg === 'state') return stateInfo(d, ctx);
    if (pkg === 'ack') {
      const b = parseInput(ackBody, ctx.req.body, 'INFO ack', ['body']);
      for (const [cid, rev] of Object.entries(b.vnis)) await d.members.recordAck(cid, ctx.identity, rev);
      return { status: 200, body: {} };
    }
    if (pkg === 'refer-ack') return referAck(ctx);
    throw invalidInput('INFO', [{ field: 'body.package', reason: `must be one of ${PACKAGES.join(', ')}` }]);
  };
}

async function macInfo(d: TenantDeps, ctx: RequestContext): Promise<FinalAnswer> {
  const body = parseInput(macBody, ctx.req.body, 'INFO', ['body']);
  const issues: { field: string; reason: string }[] = [];
  body.add.forEach((m, i) => {
    const why = unicastMacReason(m);
    if (why) issues.push({ field: `body.add[${i}]`, reason: why });
    if (body.delete.includes(m)) issues.push({ field: `body.add[${i}]`, reason: `${m} is both added and deleted` });
  });
  if (issues.length) throw invalidInput('INFO', issues);
  if (body.add.length + body.delete.length === 0) throw invalidInput('INFO', [{ field: 'body', reason: 'add or delete at least one MAC' }]);

  const s = (await d.sessions.get(ctx.req.callId)) as InfoSession | null;
  if (!s || s.state !== 'established') throw new StatusError(481, `no established session ${ctx.req.callId}`);
  if (s.nve !== ctx.identity) throw new StatusError(403, `session ${s.callId} belongs to another NVE`);
  if (body.delete.includes(s.mac)) throw invalidInput('INFO', [{ field: 'body.delete', reason: `${s.mac} is the VM's own MAC: end the session with BYE` }]);
  const vtep = String(s.answer?.vtep ?? '');
  const targets = d.links.forPod(s.pod).filter((t) => s.branches.includes(t.id));
  const forwarded = { cid: s.cid, nve: s.nve, vtep, add: body.add, delete: body.delete };
  const { results, failed } = await d.links.fork(targets, 'INFO', s.callId, forwarded);
  if (failed) {
    // Undo where it worked (the inverse change), so the branches agree again; the NVE gets the failure.
    const inverse = { ...forwarded, add: body.delete, delete: body.add };
    await Promise.all(results.filter((r) => r.res.status < 300).map((r) => d.links.send(targets.find((t) => t.id === r.proxy)!, 'INFO', s.callId, inverse)));
    await fanout(fanoutDeps(d, s), s.cid);
    throw new StatusError(failed.res.status as Status, `branch ${failed.proxy}: ${failed.res.reason}`, { branch: failed.proxy, ...failed.res.body });
  }
  const macs = [...new Set([...(s.macs ?? []), ...body.add])].filter((m) => !body.delete.includes(m)).sort();
  await d.sessions.save({ ...s, macs } as Session);
  await fanout(fanoutDeps(d, s), s.cid);
  return { status: 200, body: { cid: s.cid, macs: [s.mac, ...macs], revision: await d.members.revision(s.cid) } };
}

export function fanoutDeps(d: TenantDeps, s?: { answer?: Record<string, unknown> }) {
  const vni = typeof s?.answer?.vni === 'number' ? s.answer.vni : null;
  return { members: d.members, delivery: d.delivery, vniOf: async () => vni };
}

/** The NVE's established sessions and, per VNI they are in, what it lacks. */
export async function stateOf(d: TenantDeps, nve: string, have: Record<string, number>): Promise<Record<string, unknown>> {
  const sessions: InfoSession[] = [];
  for (const callId of await d.sessions.ofNve(nve)) {
    const s = (await d.sessions.get(callId)) as InfoSession | null;
    if (s?.state === 'established' && s.nve === nve) sessions.push(s);
  }
  const vnis: Record<string, unknown>[] = [];
  for (const cid of [...new Set(sessions.map((s) => s.cid))].sort()) {
    const vni = sessions.find((s) => s.cid === cid)?.answer?.vni ?? null;
    const from = have[cid];
    const current = await d.members.revision(cid);
    const entries = from !== undefined && from > 0 && from <= current ? await d.members.entries(cid, from, current) : null;
    if (entries) vnis.push({ cid, vni, mode: 'delta', base: from, revision: current, entries });
    else vnis.push({ cid, vni, mode: 'full', ...(await d.members.snapshot(cid)) });
  }
  // Each session's last CSeq: an agent that restarted lost its counters, and its next BYE or INFO in
  // the call must go above what it used before (RFC 3261 §12.2.1.1), or it is refused 400.
  const cseqs = await d.transactions.lastCseqs(nve, sessions.map((s) => s.callId));
  return {
    sessions: sessions.map((s, i) => ({ callId: s.callId, cid: s.cid, mac: s.mac, macs: s.macs ?? [], ...(s.ip ? { ip: s.ip } : {}), answer: s.answer ?? {}, cseq: cseqs[i]! })),
    vnis,
  };
}

async function stateInfo(d: TenantDeps, ctx: RequestContext): Promise<FinalAnswer> {
  const body = parseInput(stateBody, ctx.req.body, 'INFO state', ['body']);
  for (const [cid, rev] of Object.entries(body.vnis)) if (rev > 0) await d.members.recordAck(cid, ctx.identity, rev);
  return { status: 200, body: await stateOf(d, ctx.identity, body.vnis) };
}

/** Delivery's answer hook: a 200 to a mac-table NOTIFY says which revision the NVE has applied. */
export function recordAcks(d: TenantDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    if (req.body.event !== 'mac-table' || res.status !== 200) return;
    const rev = res.body.revision;
    if (typeof rev === 'number' && typeof req.body.cid === 'string') await d.members.recordAck(req.body.cid, req.to, rev);
  };
}
