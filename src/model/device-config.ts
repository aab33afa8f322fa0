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
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
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
    (out[kind] as unknown[]) = [...m.entries()].sort(([a], [b]) => compareKeys(a, b)).map(([, e]) => e);
  }
  return out;
}

function compareKeys(a: string, b: string): number {
  const na = Number(a.split('/')[0]);
  const nb = Number(b.split('/')[0]);
  if (!Number.isNaN(na) && !Number.isNaN(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The change that takes a device from `from` to `to`. */
export function diffConfig(from: DeviceConfig, to: DeviceConfig): DeviceChange {
  const change: DeviceChange = { merge: emptyConfig(), remove: emptyConfig() };
  for (const kind of ENTRY_KINDS) {
    const before = byKey(kind, from[kind] as EntryOf<typeof kind>[]);
    const after = byKey(kind, to[kind] as EntryOf<typeof kind>[]);
    for (const [k, e] of after) {
      const old = before.get(k);
      if (!old || stableJson(old) !== stableJson(e)) (change.merge[kind] as unknown[]).push(e);
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
