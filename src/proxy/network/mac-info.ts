// A forwarded INFO "mac" at the network proxy (use case 5): the session's VM gained or lost MACs.
// Membership first (a MAC another session holds is 409 and nothing changes), then every device whose
// fragment of the session carries the VM's MAC gets the new set — the session's own contribution
// (`session:<callId>`), so BYE takes the extra MACs away with the rest.
import { z } from 'zod';
import { id, ip, mac } from '../../model/fields.ts';
import { parseInput } from '../../model/validate.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import { loadBranch } from './branch.ts';
import { ownerOf } from './desired.ts';
import type { NetworkDeps } from './invite.ts';
import type { SyncTarget } from './device-sync-port.ts';

const forwardedInfo = z.strictObject({ cid: id, nve: id, vtep: ip, add: z.array(mac), delete: z.array(mac) });

export function infoHandler(d: NetworkDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const body = parseInput(forwardedInfo, ctx.req.body, 'forwarded INFO', ['body']);
    const { callId } = ctx.req;
    const b = await loadBranch(d, callId);
    if (!b?.answer) throw new StatusError(481, `no established session ${callId} at network proxy ${d.proxyId}`);
    if (b.cid !== body.cid) throw new StatusError(400, `session ${callId} is in CID ${b.cid}, not ${body.cid}`);
    for (const m of body.add) {
      const h = await d.members.holder(b.cid, m);
      if (h && h.callId !== callId) throw new StatusError(409, `MAC ${m} is already in CID ${b.cid} behind ${h.vtep} (session ${h.callId})`, { holder: h });
    }
    const encapsulation = String(b.answer.encapsulation);
    for (const m of body.add) {
      const taken = await d.members.add(b.cid, { mac: m, vtep: body.vtep, nve: body.nve, callId, pod: b.pod, encapsulation });
      if (taken) throw new StatusError(409, `MAC ${m} was taken by session ${taken.callId} meanwhile`, { holder: taken });
    }
    await d.members.removeMacs(b.cid, body.delete, callId);

    const owner = ownerOf(callId);
    const targets: SyncTarget[] = [];
    for (const device of b.devices) {
      const c = await d.state.contribution(device, owner);
      const own = c?.macs.find((e) => e.mac === b.mac);
      if (!c || !own) continue; // this device takes only floods for the session (a ToR)
      const keep = c.macs.filter((e) => !body.delete.includes(e.mac) && !body.add.includes(e.mac));
      const macs = [...keep, ...body.add.map((m) => ({ vni: own.vni, mac: m, vtep: own.vtep }))];
      targets.push({ device, revision: await d.state.setContribution(device, owner, { ...c, macs }) });
    }
    if (targets.length) {
      await d.sync.request(targets, { sessionId: callId });
      await d.sync.waitApplied(targets, { deadlineMs: d.syncDeadlineMs, sessionId: callId });
    }
    return { status: 200, body: { devices: targets } };
  };
}
