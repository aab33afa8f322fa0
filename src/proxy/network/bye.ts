// BYE and CANCEL at the network proxy: undo what this proxy did for the session. CANCEL also marks
// the call so an INVITE still in progress here rolls itself back and ends in 487.
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import { isLive, loadBranch, undoBranch, type BranchDeps } from './branch.ts';

export function byeHandler(d: BranchDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const b = await loadBranch(d, ctx.req.callId);
    if (!b) throw new StatusError(481, `no session ${ctx.req.callId} at network proxy ${d.proxyId}`);
    const r = await undoBranch(d, b);
    return { status: 200, body: { devices: r.targets, synced: r.synced, ...(r.error ? { syncError: r.error } : {}) } };
  };
}

export function cancelHandler(d: BranchDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    await d.redis.set(d.k.branchCancelled(ctx.req.callId), '1', 'EX', 300);
    const b = await loadBranch(d, ctx.req.callId);
    // An INVITE that already finished here is undone now; one still running sees the mark and undoes
    // itself; one whose process died (no lease) is undone now, since nobody else will.
    if (b && (b.answer || !(await isLive(d, ctx.req.callId)))) await undoBranch(d, b);
    return { status: 200, body: { cancelled: ctx.req.callId } };
  };
}
