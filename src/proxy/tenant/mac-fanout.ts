// The MAC-table fan-out (use case 5): after any change of a VNI's table, the entries nobody has sent
// yet are claimed (each by exactly one proxy process, membership.ts) and pushed as ONE NOTIFY
// "mac-table" to every hNVE of the VNI, the actor included: every member sees every revision, so a
// missing number always means a lost message, never "not meant for me". Pushes to different NVEs go
// out at once; an NVE that is away catches up with INFO "state" when it is back (info.ts).
import type { Membership, TableEntry } from '../network/membership.ts';
import type { Delivery } from './delivery.ts';

export interface FanoutDeps {
  members: Membership;
  delivery: Delivery;
  /** CID → VNI, for the NOTIFY body (agents check it against what INVITE told them). */
  vniOf(cid: string): Promise<number | null>;
}

export function macTableBody(cid: string, vni: number | null, base: number, entries: TableEntry[]): Record<string, unknown> {
  const revision = entries.length ? entries[entries.length - 1]!.revision : base;
  return { event: 'mac-table', cid, vni, base, revision, entries };
}

/** Pushes whatever is unsent for the CID; returns how many NVEs were pushed to. */
export async function fanout(d: FanoutDeps, cid: string, extra: readonly string[] = []): Promise<number> {
  let pushed = 0;
  for (;;) {
    const { from, to } = await d.members.claimFanout(cid);
    if (to <= from) return pushed;
    const entries = (await d.members.entries(cid, from, to)) ?? [];
    const nves = new Set((await d.members.members(cid)).map((m) => m.nve));
    // `extra`: an NVE whose last MAC just left still hears of its own removal.
    for (const n of extra) nves.add(n);
    const body = macTableBody(cid, await d.vniOf(cid), from, entries);
    const sent = await Promise.all([...nves].map((nve) => d.delivery.push(nve, 'NOTIFY', `vni-${cid}`, body)));
    pushed += sent.filter(Boolean).length;
  }
}
