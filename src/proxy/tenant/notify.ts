// MAC-table changes pushed to the hNVEs of a VNI (NOTIFY, event "mac-table"), wherever they are
// connected: the NVEs then update their own forwarding, as the aNVEs do through their desired state.
// What is pushed comes from the VNI's numbered log (mac-fanout.ts), not from the caller's words, so
// every hNVE gets every revision in order.
import type { Membership } from '../network/membership.ts';
import type { Delivery } from './delivery.ts';
import { fanout } from './mac-fanout.ts';

export async function notifyMacTable(
  d: { members: Membership; delivery: Delivery },
  a: { cid: string; vni: unknown; actor: string; callId: string; added?: { mac: string; vtep: string }[]; removed?: { mac: string; vtep: string }[] },
): Promise<void> {
  const vni = typeof a.vni === 'number' ? a.vni : null;
  await fanout({ members: d.members, delivery: d.delivery, vniOf: async () => vni }, a.cid, [a.actor]);
}
