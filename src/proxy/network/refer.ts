// A forwarded REFER phase at the network proxy (use case 6, make-before-break). The tenant proxy moves
// a session from VTEP `from` to VTEP `to` in steps, and waits for each to be applied everywhere:
//   add     tunnels to `to` join every flood list the session has (nothing is taken away);
//   switch  the session's MACs point at `to` (an overwrite: at every instant they point somewhere);
//   drop    the tunnels to `from` leave the session's flood lists;
//   abort   back to where `from` was: `to` leaves, the MACs point at `from`.
// Each step rewrites the session's own contribution, so the devices' union and BYE keep working.
import { z } from 'zod';
import type { DeviceConfig } from '../../model/device-config.ts';
import { ip } from '../../model/fields.ts';
import { parseInput } from '../../model/validate.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import { loadBranch } from './branch.ts';
import { ownerOf } from './desired.ts';
import type { SyncTarget } from './device-sync-port.ts';
import type { NetworkDeps } from './invite.ts';

export const PHASES = ['add', 'switch', 'drop', 'abort'] as const;
export type ReferPhase = (typeof PHASES)[number];
const forwardedRefer = z.strictObject({ phase: z.enum(PHASES), from: ip, to: ip });

export function rewrite(c: DeviceConfig, phase: ReferPhase, from: string, to: string): DeviceConfig {
  const vnis = [...new Set(c.floods.filter((f) => f.vtep === from || f.vtep === to).map((f) => f.vni))];
  const floods = (keep: (v: string) => boolean, add: string | null) => [
    ...c.floods.filter((f) => keep(f.vtep)),
    ...(add ? vnis.filter((vni) => !c.floods.some((f) => f.vni === vni && f.vtep === add)).map((vni) => ({ vni, vtep: add })) : []),
  ];
  const point = (at: string, away: string) => c.macs.map((m) => (m.vtep === away ? { ...m, vtep: at } : m));
  switch (phase) {
    case 'add':
      return { ...c, floods: floods(() => true, to) };
    case 'switch':
      return { ...c, macs: point(to, from) };
    case 'drop':
      return { ...c, floods: floods((v) => v !== from, to) };
    case 'abort':
      return { ...c, floods: floods((v) => v !== to, from), macs: point(from, to) };
  }
}

export function referHandler(d: NetworkDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const body = parseInput(forwardedRefer, ctx.req.body, 'forwarded REFER', ['body']);
    const { callId } = ctx.req;
    const b = await loadBranch(d, callId);
    if (!b?.answer) throw new StatusError(481, `no established session ${callId} at network proxy ${d.proxyId}`);
    const owner = ownerOf(callId);
    const targets: SyncTarget[] = [];
    for (const device of b.devices) {
      const c = await d.state.contribution(device, owner);
      if (!c) continue;
      targets.push({ device, revision: await d.state.setContribution(device, owner, rewrite(c, body.phase, body.from, body.to)) });
    }
    await d.sync.request(targets, { sessionId: callId });
    await d.sync.waitApplied(targets, { deadlineMs: d.syncDeadlineMs, sessionId: callId });
    return { status: 200, body: { phase: body.phase, devices: targets } };
  };
}
