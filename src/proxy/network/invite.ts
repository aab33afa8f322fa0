// A forwarded INVITE at the network proxy (use case 4): allocate the (CID, pod) VLAN free at the pod
// and both gateways, the CID's VNI and its NG-MVPN group, pick the encapsulation, write every
// affected device's desired state, and answer once the devices have applied it.
import { z } from 'zod';
import { NvoError } from '../../errors.ts';
import { encapsulations, id, ip, mac } from '../../model/fields.ts';
import { parseCidr } from '../../model/net.ts';
import { parseInput } from '../../model/validate.ts';
import { observeInvite } from '../../pipeline/metrics.ts';
import type { Device } from '../../model/device.ts';
import type { InventoryReader } from '../inventory-reader.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import { holdLive, loadBranch, saveBranch, undoBranch, type BranchDeps, type BranchRecord } from './branch.ts';
import { ownerOf, sessionFragments } from './desired.ts';
import { pickEncapsulation } from './encapsulation.ts';
import { macTable } from './membership.ts';

export const forwardedInviteSchema = z.strictObject({
  cid: id,
  vm: z.strictObject({ mac, ip: ip.optional() }),
  nve: z.strictObject({ id, pod: id, vtep: ip, encapsulations }),
  tenant: z.strictObject({ subnet: z.string(), gateway: ip, multicast: z.boolean(), encapsulations }),
});

export interface NetworkDeps extends BranchDeps {
  inventory: InventoryReader;
  /** The devices this proxy configures; null = all. */
  responsibleFor: ReadonlySet<string> | null;
}

async function device(inv: InventoryReader, idOf: string, what: string): Promise<Device> {
  const d = await inv.getDevice(idOf);
  if (!d) throw new StatusError(500, `the inventory names ${what} '${idOf}' but has no such device`);
  return d;
}

export function inviteHandler(d: NetworkDeps) {
  const handle = answerInvite(d);
  // INVITE latency (/metrics) is measured here, where the final status is known, whatever the outcome.
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const start = performance.now();
    let status = 500;
    try {
      const answer = await handle(ctx);
      status = answer.status;
      return answer;
    } catch (e) {
      if (e instanceof StatusError || e instanceof NvoError) status = e.status;
      throw e;
    } finally {
      observeInvite((performance.now() - start) / 1000, status);
    }
  };
}

function answerInvite(d: NetworkDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const { callId } = ctx.req;
    const body = parseInput(forwardedInviteSchema, ctx.req.body, 'forwarded INVITE', ['body']);
    const existing = await loadBranch(d, callId);
    // The stored answer has no MAC table (below): the repeat gets the table as it is now.
    if (existing?.answer) return { status: 200, body: { ...existing.answer, macTable: macTable(await d.members.members(existing.cid)) } };
    if (existing) throw new StatusError(409, `session ${callId} is being set up`);

    const pod = await d.inventory.getPod(body.nve.pod);
    if (!pod) throw new StatusError(404, `no pod '${body.nve.pod}'`);
    const mapping = await d.inventory.getMapping(body.cid);
    if (!mapping) throw new StatusError(404, `CID '${body.cid}' has no VNI/VRF mapping at the network proxy`);
    const [wan, tgw, settings] = await Promise.all([device(d.inventory, pod.wanGateway, 'WAN gateway'), device(d.inventory, pod.torGateway, 'ToR gateway'), d.inventory.getSettings()]);

    // The MAC's holder and the encapsulation in use without reading the whole table: that grows with
    // the tenant, and the answer below reads it once anyway.
    const [holder, inUse] = await Promise.all([d.members.holder(body.cid, body.vm.mac), d.members.encapsulationInUse(body.cid, callId)]);
    if (holder && holder.callId !== callId) throw new StatusError(409, `MAC ${body.vm.mac} is already in CID ${body.cid} behind ${holder.vtep} (session ${holder.callId})`, { holder });
    const encapsulation = pickEncapsulation({ tenant: body.tenant.encapsulations, hnve: body.nve.encapsulations, wan, tgw, inUse });

    const net = parseCidr(body.tenant.subnet);
    if (typeof net === 'string') throw new StatusError(400, `body.tenant.subnet: ${net}`);
    const mvpn = body.tenant.multicast ? [wan, tgw].find((g) => g.ngMvpn && g.mcastGroups?.length) : undefined;
    const all = [...pod.tors, wan.id, tgw.id];
    const mine = all.filter((x, i) => all.indexOf(x) === i && (!d.responsibleFor || d.responsibleFor.has(x)));
    const branch: BranchRecord = {
      callId,
      cid: body.cid,
      pod: pod.id,
      mac: body.vm.mac,
      devices: mine,
      group: mvpn ? { device: mvpn.id, pool: mvpn.mcastGroups! } : null,
    };
    // Recorded before anything is taken, so an undo after a crash at any point finds what to give back;
    // the lease first, so that no sweep takes the fresh branch for an orphan.
    // Both are sent at once; one connection runs its commands in the order sent, so the lease is
    // still set before the branch is.
    const [release] = await Promise.all([holdLive(d, callId), saveBranch(d, branch)]);
    const owner = ownerOf(callId);
    try {
      const { vlan } = await d.alloc.acquireVlan({
        cid: body.cid,
        pod: pod.id,
        user: owner,
        pools: [
          { name: `pod:${pod.id}`, label: `pod ${pod.id}`, ranges: pod.vlanRanges },
          { name: `dev:${wan.id}`, label: `wan-gw ${wan.id}`, ranges: wan.vlanRanges },
          { name: `dev:${tgw.id}`, label: `tor-gw ${tgw.id}`, ranges: tgw.vlanRanges },
        ],
      });
      const vni = await d.alloc.acquireVni(body.cid, settings.vniPool, mapping.vni);
      const group = branch.group ? (await d.alloc.acquireGroup({ cid: body.cid, device: branch.group.device, user: owner, pool: branch.group.pool })).group : null;
      const fragments = sessionFragments({
        cid: body.cid,
        mac: body.vm.mac,
        hnveVtep: body.nve.vtep,
        vlan,
        vni,
        group,
        encapsulation,
        mapping,
        irbAddress: `${body.tenant.gateway}/${net.prefix}`,
        pod,
        wan,
        tgw,
      });
      const taken = await d.members.add(body.cid, { mac: body.vm.mac, vtep: body.nve.vtep, nve: body.nve.id, callId, pod: pod.id, encapsulation });
      if (taken) throw new StatusError(409, `MAC ${body.vm.mac} was taken by session ${taken.callId} meanwhile`, { holder: taken });
      // The devices' revisions are independent: one round trip for all of them, not one per device.
      const revisions = await d.state.setContributions(owner, new Map(mine.map((dev) => [dev, fragments.get(dev)!])));
      const targets = mine.map((dev) => ({ device: dev, revision: revisions.get(dev)! }));
      ctx.progress(183, 'Session Progress: configuration queued', { devices: targets });
      await d.sync.request(targets, { sessionId: callId });
      await d.sync.waitApplied(targets, { deadlineMs: d.syncDeadlineMs, sessionId: callId });
      const [cancelled, table] = await Promise.all([d.redis.exists(d.k.branchCancelled(callId)), d.members.members(body.cid)]);
      if (cancelled) throw new StatusError(487, `INVITE ${callId} was cancelled`);

      const answer = {
        cid: body.cid,
        pod: pod.id,
        vlan,
        vni,
        group,
        encapsulation,
        vrf: mapping.vrf.name,
        gateways: {
          wan: { id: wan.id, vtep: wan.vtep, encapsulation },
          tor: { id: tgw.id, vtep: tgw.vtep, encapsulation },
        },
        macTable: macTable(table),
        devices: mine,
      };
      // Stored without the MAC table: it is the whole VNI's, so a copy in every session's record made
      // Redis grow with the square of a tenant's VMs (and the membership has it anyway).
      const { macTable: _table, ...stored } = answer;
      await saveBranch(d, { ...branch, answer: stored });
      return { status: 200, body: answer };
    } catch (e) {
      await undoBranch(d, branch);
      if (e instanceof NvoError && (e.code === 'device-error' || e.code === 'timeout')) {
        throw new StatusError(e.code === 'timeout' ? 504 : 500, e.message, { ...e.toJSON(), proxy: d.proxyId });
      }
      throw e;
    } finally {
      await release();
    }
  };
}
