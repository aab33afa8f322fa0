// A VTEP belongs to one NVE: flood lists name VTEPs, a remote MAC points at one, and `nvo move --vtep`
// finds an hNVE by it — two devices or hNVEs with the same address would make each ambiguous. Devices
// (InventoryStore) and hNVEs (NveStore) live in two hashes; a write of either watches both, so two
// writers racing for one address cannot both win (the loser's EXEC fails and it checks again).
import { NvoError } from '../errors.ts';
import { ipToBigInt } from '../model/net.ts';
import type { Keys } from './keys.ts';
import type { Tx } from './redis-tx.ts';

export interface VtepOwner {
  kind: 'device' | 'hNVE';
  id: string;
}

/** One spelling per address (`2001:DB8::1` and `2001:db8:0::1` are one VTEP). */
export function vtepKey(vtep: string): string {
  const ip = ipToBigInt(vtep);
  return ip ? `${ip.bits}:${ip.value}` : vtep;
}

/** Watches both hashes and returns every VTEP in use with its owner. */
export async function vtepOwners(tx: Tx, k: Keys): Promise<Map<string, VtepOwner>> {
  const devices = k.inventory('device');
  await tx.watch(devices, k.hnves);
  const [d, h] = await Promise.all([tx.conn.hgetall(devices), tx.conn.hgetall(k.hnves)]);
  const out = new Map<string, VtepOwner>();
  const add = (kind: VtepOwner['kind'], all: Record<string, string>) => {
    for (const [id, raw] of Object.entries(all)) {
      const vtep = (JSON.parse(raw) as { vtep?: unknown }).vtep;
      if (typeof vtep === 'string') out.set(vtepKey(vtep), { kind, id });
    }
  };
  add('device', d);
  add('hNVE', h);
  return out;
}

/** The owner of `vtep` other than `self`, or undefined. */
export function otherOwner(owners: Map<string, VtepOwner>, vtep: string, self: VtepOwner): VtepOwner | undefined {
  const o = owners.get(vtepKey(vtep));
  return o && !(o.kind === self.kind && o.id === self.id) ? o : undefined;
}

export function vtepTaken(vtep: string, owner: VtepOwner, field = 'vtep'): NvoError {
  const message = `VTEP ${vtep} is already used by ${owner.kind} '${owner.id}'`;
  return new NvoError('conflict', message, [{ field, reason: message }], { vtep, kind: owner.kind === 'hNVE' ? 'hnve' : 'device', id: owner.id });
}
