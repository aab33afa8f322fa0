// MAC-table changes pushed to the other hNVEs of a VNI (NOTIFY, event "mac-table"), wherever they are
// connected: the NVEs then update their own forwarding, as the aNVEs do through their desired state.
import type { Membership } from '../network/membership.ts';
import type { Delivery } from './delivery.ts';

export async function notifyMacTable(
  d: { members: Membership; delivery: Delivery },
  a: { cid: string; vni: unknown; actor: string; callId: string; added?: { mac: string; vtep: string }[]; removed?: { mac: string; vtep: string }[] },
): Promise<void> {
  const nves = new Set((await d.members.members(a.cid)).map((m) => m.nve));
  nves.delete(a.actor);
  for (const nve of nves) {
    await d.delivery.push(nve, 'NOTIFY', a.callId, { event: 'mac-table', cid: a.cid, vni: a.vni, added: a.added ?? [], removed: a.removed ?? [] });
  }
}
