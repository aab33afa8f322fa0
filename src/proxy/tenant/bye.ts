// BYE: the VM goes. Every network proxy that took part undoes its part (MAC withdrawn everywhere, the
// VLAN and group released with the last VM of the CID on the pod), the other hNVEs of the VNI hear
// of it. Only the NVE that owns the session may end it (403); an unknown one is 481.
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import type { TenantDeps } from './deps.ts';
import { notifyMacTable } from './notify.ts';
import type { Session } from './sessions.ts';

/** Ends a session for whatever reason (BYE, registration expired); returns the branches' answers. */
export async function endSession(d: TenantDeps, s: Session): Promise<{ proxy: string; status: number; reason: string }[]> {
  const targets = d.links.forPod(s.pod).filter((t) => s.branches.includes(t.id));
  const { results } = await d.links.fork(targets, 'BYE', s.callId, {});
  await d.sessions.remove(s);
  const vtep = s.answer?.vtep as string | undefined;
  await notifyMacTable(d, { cid: s.cid, vni: s.answer?.vni, actor: s.nve, callId: s.callId, removed: [{ mac: s.mac, vtep: vtep ?? '' }] });
  return results.map((r) => ({ proxy: r.proxy, status: r.res.status, reason: r.res.reason }));
}

export function byeHandler(d: TenantDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const s = await d.sessions.get(ctx.req.callId);
    if (!s) throw new StatusError(481, `no session ${ctx.req.callId}`);
    if (s.nve !== ctx.identity) {
      d.log.warn({ callId: s.callId, owner: s.nve, by: ctx.identity }, 'BYE for another NVE\'s session refused');
      throw new StatusError(403, `session ${s.callId} belongs to another NVE`);
    }
    if (s.state !== 'established') throw new StatusError(481, `session ${s.callId} is not established; CANCEL it`);
    return { status: 200, body: { branches: await endSession(d, s) } };
  };
}

export function cancelHandler(d: TenantDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const s = await d.sessions.get(ctx.req.callId);
    if (!s || s.state !== 'proceeding') throw new StatusError(481, `no INVITE in progress for ${ctx.req.callId}`);
    if (s.nve !== ctx.identity) throw new StatusError(403, `session ${s.callId} belongs to another NVE`);
    await d.sessions.save({ ...s, cancelled: true });
    const targets = d.links.forPod(s.pod).filter((t) => s.branches.includes(t.id));
    await d.links.fork(targets, 'CANCEL', s.callId, {});
    return { status: 200, body: { cancelled: s.callId } };
  };
}
