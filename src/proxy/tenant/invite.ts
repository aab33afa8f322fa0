// INVITE (use case 4) at the tenant proxy: {cid, vm: {mac, ip?}}. The NVE must be registered and the
// CID known; the request is enriched with the tenant's subnet, gateway, multicast flag and
// encapsulations and the hNVE's pod and VTEP, forked to the pod's network proxies, and answered with
// their merged answer — or the failing branch's status after the others are rolled back.
import { z } from 'zod';
import { id, ip, mac } from '../../model/fields.ts';
import { cidrContains, parseCidr, unicastMacReason } from '../../model/net.ts';
import { invalidInput, parseInput } from '../../model/validate.ts';
import type { FinalAnswer, Response } from '../protocol/messages.ts';
import { StatusError, type Status } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import type { TenantDeps } from './deps.ts';
import { macTable } from '../network/membership.ts';
import { notifyMacTable } from './notify.ts';

const inviteBody = z.strictObject({ cid: id, vm: z.strictObject({ mac, ip: ip.optional() }) });

export async function requireRegistered(d: TenantDeps, nve: string): Promise<void> {
  if (!(await d.registrar.get(nve))) throw new StatusError(403, `${nve} is not registered: REGISTER first`);
}

function merge(results: { proxy: string; res: Response }[]): Record<string, unknown> {
  const bodies = results.map((r) => r.res.body);
  const first = bodies[0]!;
  for (const [i, b] of bodies.entries()) {
    for (const f of ['vlan', 'vni', 'group', 'encapsulation'] as const) {
      if (b[f] !== first[f]) throw new StatusError(500, `network proxies disagree on ${f}: ${results[0]!.proxy} says ${String(first[f])}, ${results[i]!.proxy} says ${String(b[f])}`);
    }
  }
  const macs = new Map<string, unknown>();
  for (const b of bodies) for (const m of (b.macTable as { mac: string; vtep: string }[]) ?? []) macs.set(m.mac, m);
  const { devices: _d, macTable: _m, ...rest } = first;
  return { ...rest, macTable: [...macs.values()], branches: results.map((r) => ({ proxy: r.proxy, devices: r.res.body.devices })) };
}

export function inviteHandler(d: TenantDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    await requireRegistered(d, ctx.identity);
    const body = parseInput(inviteBody, ctx.req.body, 'INVITE', ['body']);
    const macReason = unicastMacReason(body.vm.mac);
    if (macReason) throw invalidInput('INVITE', [{ field: 'body.vm.mac', reason: macReason }]);
    const tenant = await d.inventory.getTenant(body.cid);
    if (!tenant) throw new StatusError(404, `no tenant with CID '${body.cid}'`);
    const net = parseCidr(tenant.subnet);
    if (body.vm.ip && typeof net !== 'string' && !cidrContains(net, body.vm.ip)) {
      throw invalidInput('INVITE', [{ field: 'body.vm.ip', reason: `${body.vm.ip} is outside the tenant's subnet ${tenant.subnet}` }]);
    }
    const nve = await d.nves.show(ctx.identity);
    const { callId } = ctx.req;
    const targets = d.links.forPod(nve.pod);
    if (targets.length === 0) throw new StatusError(503, `no network proxy serves pod ${nve.pod}`, {}, 30);

    const session = { callId, nve: nve.id, cid: body.cid, pod: nve.pod, mac: body.vm.mac, ...(body.vm.ip ? { ip: body.vm.ip } : {}), state: 'proceeding' as const, branches: targets.map((t) => t.id), createdAt: new Date().toISOString() };
    const existing = await d.sessions.create(session);
    if (existing) {
      if (existing.nve !== nve.id) throw new StatusError(403, `session ${callId} belongs to another NVE`);
      // The session record keeps no MAC table (below): a repeat gets the VNI's table as it is now.
      if (existing.state === 'established' && existing.answer) return { status: 200, body: { ...existing.answer, macTable: macTable(await d.members.members(existing.cid)) } };
      throw new StatusError(409, `session ${callId} is being set up`);
    }

    const forwarded = {
      cid: body.cid,
      vm: body.vm,
      nve: { id: nve.id, pod: nve.pod, vtep: nve.vtep, encapsulations: nve.encapsulations },
      tenant: { subnet: tenant.subnet, gateway: tenant.gateway, multicast: tenant.multicast, encapsulations: tenant.encapsulations },
    };
    let progressed = false;
    const { results, failed } = await d.links.fork(targets, 'INVITE', callId, forwarded, (p) => {
      if (p.status === 183 && !progressed) {
        progressed = true;
        ctx.progress(183, p.reason, { branch: targets.length > 1 ? 'forked' : targets[0]!.id, ...p.body });
      }
    });
    const cancelled = (await d.sessions.get(callId))?.cancelled;
    if (failed || cancelled) {
      await d.links.rollback(targets, results, callId);
      await d.sessions.remove(session);
      if (cancelled) throw new StatusError(487, `INVITE ${callId} was cancelled`);
      const f = failed!;
      d.log.warn({ callId, branch: f.proxy, status: f.res.status, reason: f.res.reason }, 'INVITE branch failed; others rolled back');
      throw new StatusError(f.res.status as Status, `branch ${f.proxy}: ${f.res.reason}`, { branch: f.proxy, ...f.res.body }, f.res.retryAfter);
    }
    let answer: Record<string, unknown>;
    try {
      answer = { ...merge(results), subnet: tenant.subnet, gateway: tenant.gateway, multicast: tenant.multicast, vtep: nve.vtep };
    } catch (e) {
      await d.links.rollback(targets, results, callId);
      await d.sessions.remove(session);
      throw e;
    }
    // Stored without the MAC table, which is the whole VNI's: one copy per session grew Redis with the
    // square of a tenant's VMs; the membership holds it, and INFO "state" sends it from there.
    const { macTable: _table, ...stored } = answer;
    await d.sessions.save({ ...session, state: 'established', answer: stored });
    await notifyMacTable(d, { cid: body.cid, vni: answer.vni, actor: nve.id, callId, added: [{ mac: body.vm.mac, vtep: nve.vtep }] });
    return { status: 200, body: answer };
  };
}
