// The vendor-neutral configuration nvo wants on one aNVE. The network proxy computes it, the pipeline
// stores it per device with a revision, and a driver renders the difference between two of them in
// the device's dialect. Every entry kind has a key; two configs are compared entry by entry.

export interface VlanEntry {
  id: number;
  name: string;
}
export interface VrfEntry {
  name: string;
  rd: string;
  importTargets: string[];
  exportTargets: string[];
}
export interface VniEntry {
  vni: number;
  vlan: number;
  encapsulation: string;
  vrf?: string;
  /** NG-MVPN / underlay multicast group for BUM traffic of this VNI. */
  mcastGroup?: string;
}
/** A remote VTEP in the VNI's flood list (head-end replication of BUM traffic). */
export interface FloodEntry {
  vni: number;
  vtep: string;
}
/** A static remote MAC: frames for `mac` in `vni` are tunnelled to `vtep`. */
export interface MacEntry {
  vni: number;
  mac: string;
  vtep: string;
}
/** The tenant's default gateway as an L3 interface on the VLAN, in the tenant's VRF. */
export interface IrbEntry {
  vlan: number;
  vrf: string;
  /** Gateway address with the subnet's prefix length, e.g. 192.0.2.1/24. */
  address: string;
}

export interface DeviceConfig {
  vlans: VlanEntry[];
  vrfs: VrfEntry[];
  vnis: VniEntry[];
  floods: FloodEntry[];
  macs: MacEntry[];
  irbs: IrbEntry[];
}

export type EntryKind = keyof DeviceConfig;
export const ENTRY_KINDS: readonly EntryKind[] = ['vrfs', 'vlans', 'vnis', 'irbs', 'floods', 'macs'];

type EntryOf<K extends EntryKind> = DeviceConfig[K][number];

export const entryKey: { [K in EntryKind]: (e: EntryOf<K>) => string } = {
  vlans: (e) => String(e.id),
  vrfs: (e) => e.name,
  vnis: (e) => String(e.vni),
  floods: (e) => `${e.vni}/${e.vtep}`,
  macs: (e) => `${e.vni}/${e.mac}`,
  irbs: (e) => String(e.vlan),
};

/** What must change on a device: entries to create or overwrite, and entries to remove (only keys matter). */
export interface DeviceChange {
  merge: DeviceConfig;
  remove: DeviceConfig;
}

export function emptyConfig(): DeviceConfig {
  return { vlans: [], vrfs: [], vnis: [], floods: [], macs: [], irbs: [] };
}

/** Stable JSON of one entry: keys sorted, so equal entries compare equal whatever their origin. */
export function stableJson(value: unknown): string {
  // Byte for byte what JSON.stringify gives with keys sorted, written out by hand: a replacer that
  // rebuilds every object was a tenth of a sync's CPU on devices with thousands of entries. For plain
  // JSON values only (what configurations and inventory entities are): no toJSON, no sparse arrays.
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined || typeof v === 'function' ? 'null' : stableJson(v))).join(',')}]`;
  const o = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of sortedKeys(o)) {
    const v = o[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${stableJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Whether two JSON values are equal as stableJson sees them (key order and undefined members aside),
 *  without writing either out: diffConfig compares every entry of a device at every sync. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameJson(v ?? null, bb[i] ?? null));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => bo[k] !== undefined && sameJson(ao[k], bo[k]));
}

// Sorted as an object rebuilt in sorted order enumerates them: array-index keys ('9', '10') first in
// numeric order (ECMA-262 OrdinaryOwnPropertyKeys), then the others as sorted.
const isIndex = (k: string) => k.charCodeAt(0) <= 57 && /^(0|[1-9]\d{0,9})$/.test(k) && Number(k) < 2 ** 32 - 1;
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o).sort();
  if (!keys.some(isIndex)) return keys;
  return [...keys.filter(isIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isIndex(k))];
}

function byKey<K extends EntryKind>(kind: K, entries: readonly EntryOf<K>[]): Map<string, EntryOf<K>> {
  const key = entryKey[kind] as (e: EntryOf<K>) => string;
  return new Map(entries.map((e) => [key(e), e]));
}

/** Sorted by key, duplicates collapsed (the last wins): the canonical form stored and compared. */
export function normalizeConfig(c: DeviceConfig): DeviceConfig {
  const out = emptyConfig();
  for (const kind of ENTRY_KINDS) {
    const m = byKey(kind, c[kind] as EntryOf<typeof kind>[]);
    // The leading number of each key is parsed once, not at every comparison.
    const rows = [...m].map(([k, e]) => ({ k, n: leadingNumber(k), e }));
    (out[kind] as unknown[]) = rows.sort(compareRows).map((r) => r.e);
  }
  return out;
}

/** Keys sort by their number before the first '/' (VLAN 9 before VLAN 10), then as strings. */
function leadingNumber(key: string): number {
  const slash = key.indexOf('/');
  return Number(slash < 0 ? key : key.slice(0, slash));
}

function compareRows(a: { k: string; n: number }, b: { k: string; n: number }): number {
  if (!Number.isNaN(a.n) && !Number.isNaN(b.n) && a.n !== b.n) return a.n - b.n;
  return a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
}

/** The change that takes a device from `from` to `to`. */
export function diffConfig(from: DeviceConfig, to: DeviceConfig): DeviceChange {
  const change: DeviceChange = { merge: emptyConfig(), remove: emptyConfig() };
  for (const kind of ENTRY_KINDS) {
    const before = byKey(kind, from[kind] as EntryOf<typeof kind>[]);
    const after = byKey(kind, to[kind] as EntryOf<typeof kind>[]);
    for (const [k, e] of after) {
      const old = before.get(k);
      if (!old || !sameJson(old, e)) (change.merge[kind] as unknown[]).push(e);
    }
    for (const [k, e] of before) if (!after.has(k)) (change.remove[kind] as unknown[]).push(e);
  }
  return { merge: normalizeConfig(change.merge), remove: normalizeConfig(change.remove) };
}

/** Applies a change to a config (what the device has after a successful commit). */
export function applyChange(base: DeviceConfig, change: DeviceChange): DeviceConfig {
  const out = emptyConfig();
  for (const kind of ENTRY_KINDS) {
    const key = entryKey[kind] as (e: EntryOf<typeof kind>) => string;
    const m = byKey(kind, base[kind] as EntryOf<typeof kind>[]);
    for (const e of change.remove[kind] as EntryOf<typeof kind>[]) m.delete(key(e));
    for (const e of change.merge[kind] as EntryOf<typeof kind>[]) m.set(key(e), e);
    (out[kind] as unknown[]) = [...m.values()];
  }
  return normalizeConfig(out);
}

export function isEmptyChange(c: DeviceChange): boolean {
  return ENTRY_KINDS.every((k) => c.merge[k].length === 0 && c.remove[k].length === 0);
}

export function countChange(c: DeviceChange): number {
  return ENTRY_KINDS.reduce((n, k) => n + c.merge[k].length + c.remove[k].length, 0);
}
