// A VTEP belongs to one NVE: flood lists name VTEPs, a remote MAC points at one, and `nvo move --vtep`
// finds an hNVE by it — two devices or hNVEs with the same address would make each ambiguous.
//
// Devices (InventoryStore) and hNVEs (NveStore) live in two hashes, so who owns each address is kept
// in a third, the index (keys.vtepIndex: vtepKey → `device:<id>` | `hNVE:<id>`), written in the same
// MULTI as every write that stores, replaces or deletes a device or an hNVE. A write then reads one
// field instead of parsing every device and hNVE (provisioning 10,000 hypervisors one at a time would
// otherwise be quadratic), and it WATCHes the index, so of two writers racing for one address the
// loser's EXEC fails and it checks again.
import type { ChainableCommander, Redis } from 'ioredis';
import { NvoError } from '../errors.ts';
import { ipToBigInt } from '../model/net.ts';
import { naturalCompare } from '../model/natural-order.ts';
import type { Keys } from './keys.ts';
import type { Tx, TxRunner } from './redis-tx.ts';

export interface VtepOwner {
  kind: 'device' | 'hNVE';
  id: string;
}

export interface VtepDuplicate {
  vtep: string;
  kept: VtepOwner;
  dropped: VtepOwner;
}

type Write = (m: ChainableCommander) => void;

/** The index field that says the index is complete; its value is the JSON report of how it was built.
 *  No address spells like it (vtepKey gives `bits:value`). */
export const INDEX_BUILT = '!built';

/** One spelling per address (`2001:DB8::1` and `2001:db8:0::1` are one VTEP). */
export function vtepKey(vtep: string): string {
  const ip = ipToBigInt(vtep);
  return ip ? `${ip.bits}:${ip.value}` : vtep;
}

const ref = (o: VtepOwner) => `${o.kind}:${o.id}`;

function owner(ref: string): VtepOwner {
  const at = ref.indexOf(':');
  return { kind: ref.slice(0, at) as VtepOwner['kind'], id: ref.slice(at + 1) };
}

/** Every owner in a hash of stored records (id → JSON with a `vtep`), in natural id order. */
function ownersIn(kind: VtepOwner['kind'], all: Record<string, string>): [VtepOwner, string][] {
  return Object.keys(all)
    .sort(naturalCompare)
    .flatMap((id): [VtepOwner, string][] => {
      const vtep = (JSON.parse(all[id]!) as { vtep?: unknown }).vtep;
      return typeof vtep === 'string' ? [[{ kind, id }, vtep]] : [];
    });
}

/** The index these owners make. Owners come devices first, then hNVEs, each in natural id order; of
 *  two with one address the first keeps it and the other is reported (data written before VTEPs had to
 *  differ can hold such pairs: the next write of the dropped owner is refused, naming the kept one). */
function indexOf(owners: Iterable<[VtepOwner, string]>): { index: Map<string, string>; duplicates: VtepDuplicate[] } {
  const index = new Map<string, string>();
  const duplicates: VtepDuplicate[] = [];
  for (const [o, vtep] of owners) {
    const key = vtepKey(vtep);
    const kept = index.get(key);
    if (kept === undefined) index.set(key, ref(o));
    else duplicates.push({ vtep, kept: owner(kept), dropped: o });
  }
  return { index, duplicates };
}

/** What the index should hold, computed from both hashes (the rebuild, and tests comparing with it). */
export async function vtepIndexFromHashes(conn: Redis, k: Keys): Promise<{ index: Map<string, string>; duplicates: VtepDuplicate[] }> {
  const [devices, hnves] = await Promise.all([conn.hgetall(k.inventory('device')), conn.hgetall(k.hnves)]);
  return indexOf([...ownersIn('device', devices), ...ownersIn('hNVE', hnves)]);
}

/** Upgrade: a store written before the index existed has devices and hNVEs but no index. Builds it
 *  once, atomically (watching both hashes, so no write slips in between), from both hashes; a no-op
 *  when it is built. Duplicates are kept in the `!built` report and raised as a process warning. */
export async function rebuildVtepIndex(runner: TxRunner, k: Keys): Promise<VtepDuplicate[] | null> {
  const duplicates = await runner.run(async (tx) => {
    await tx.watch(k.vtepIndex, k.inventory('device'), k.hnves);
    if (await tx.conn.hexists(k.vtepIndex, INDEX_BUILT)) return { result: null };
    const built = await vtepIndexFromHashes(tx.conn, k);
    const report = JSON.stringify({ rebuiltAt: new Date().toISOString(), duplicates: built.duplicates });
    return {
      result: built.duplicates,
      write: (m) => m.del(k.vtepIndex).hset(k.vtepIndex, INDEX_BUILT, report, ...[...built.index].flat()),
    };
  });
  for (const d of duplicates ?? []) {
    process.emitWarning(`VTEP ${d.vtep} is stored for both ${d.kept.kind} '${d.kept.id}' and ${d.dropped.kind} '${d.dropped.id}'; the index keeps the first, and the next write of the other is refused`, {
      code: 'NVO_VTEP_DUPLICATE',
    });
  }
  return duplicates;
}

/** Under the caller's transaction: refuses `vtep` when another NVE owns it, and returns the index
 *  writes that give it to `self` (dropping `previous`, its VTEP until now, if the index still names it). */
export async function claimVtep(tx: Tx, k: Keys, runner: TxRunner, self: VtepOwner, vtep: string, previous?: string): Promise<Write> {
  const field = vtepKey(vtep);
  const old = previous === undefined ? field : vtepKey(previous);
  await tx.watch(k.vtepIndex);
  const read = () => tx.conn.hmget(k.vtepIndex, INDEX_BUILT, field, old);
  let got = await read();
  if (got[0] === null) {
    // Built in its own transaction, so it stays built even if this write is refused. It changes the
    // index this transaction watches: this attempt's EXEC fails and the write runs again on it.
    await rebuildVtepIndex(runner, k);
    got = await read();
  }
  const [, holder = null, oldHolder = null] = got;
  const me = ref(self);
  if (holder !== null && holder !== me) throw vtepTaken(vtep, owner(holder));
  return (m) => {
    if (holder !== me) m.hset(k.vtepIndex, field, me);
    if (old !== field && oldHolder === me) m.hdel(k.vtepIndex, old);
  };
}

/** Under the caller's transaction: the index write for deleting `self`, whose VTEP is `vtep`. */
export async function releaseVtep(tx: Tx, k: Keys, self: VtepOwner, vtep: string): Promise<Write> {
  const field = vtepKey(vtep);
  await tx.watch(k.vtepIndex);
  const holder = await tx.conn.hget(k.vtepIndex, field);
  return (m) => void (holder === ref(self) && m.hdel(k.vtepIndex, field));
}

/** For `apply`, whose document replaces every device: its VTEPs must differ from each other's and from
 *  every hNVE's (hNVEs are not part of the document). Returns the index writes that make the index
 *  exactly the one rebuilt from the document's devices and the stored hNVEs. */
export async function claimDocumentVteps(tx: Tx, k: Keys, devices: readonly { id: string; vtep: string }[], section: string): Promise<Write> {
  await tx.watch(k.vtepIndex, k.hnves);
  const [current, hnves] = await Promise.all([tx.conn.hgetall(k.vtepIndex), tx.conn.hgetall(k.hnves)]);
  const hnveOwners = ownersIn('hNVE', hnves);
  const taken = new Map<string, VtepOwner>();
  for (const [o, vtep] of hnveOwners) if (!taken.has(vtepKey(vtep))) taken.set(vtepKey(vtep), o);
  for (const [i, d] of devices.entries()) {
    const other = taken.get(vtepKey(d.vtep));
    if (other) throw vtepTaken(d.vtep, other, `${section}[${i}].vtep`);
    taken.set(vtepKey(d.vtep), { kind: 'device', id: d.id });
  }
  const deviceOwners = [...devices].sort((a, b) => naturalCompare(a.id, b.id)).map((d): [VtepOwner, string] => [{ kind: 'device', id: d.id }, d.vtep]);
  const { index, duplicates } = indexOf([...deviceOwners, ...hnveOwners]);
  return (m) => {
    for (const field of Object.keys(current)) if (field !== INDEX_BUILT && !index.has(field)) m.hdel(k.vtepIndex, field);
    for (const [field, value] of index) if (current[field] !== value) m.hset(k.vtepIndex, field, value);
    if (current[INDEX_BUILT] === undefined) m.hset(k.vtepIndex, INDEX_BUILT, JSON.stringify({ rebuiltAt: new Date().toISOString(), by: 'apply', duplicates }));
  };
}

export function vtepTaken(vtep: string, owner: VtepOwner, field = 'vtep'): NvoError {
  const message = `VTEP ${vtep} is already used by ${owner.kind} '${owner.id}'`;
  return new NvoError('conflict', message, [{ field, reason: message }], { vtep, kind: owner.kind === 'hNVE' ? 'hnve' : 'device', id: owner.id });
}
