// Everything one sync needs about a device, read at once so the parts agree: each owner's
// contribution with the revision (seq) that wrote it, the desired revision, what was last applied, and
// the contributions the device refused (quarantine). The union is DeviceStateStore's rule: fragments
// in seq order, a newer one wins a key conflict.
//
// The applied configuration is the union of every contribution up to the applied revision (a sync
// records exactly its target). So while nothing was removed or rewritten since (reshapedRev) and
// nothing is refused, the next target is that configuration plus the newer contributions: the delta
// read fetches only those, and a sync costs what changed, not every session the device serves.
// Otherwise — or for an index written before it existed (its size differs) — every contribution is read.
import type { Redis } from 'ioredis';
import { emptyConfig, type DeviceConfig } from '../model/device-config.ts';
import { unionConfigs } from '../store/device-state.ts';
import type { Keys } from '../store/keys.ts';
import { evalLua } from '../store/lua.ts';

export interface Contribution {
  owner: string;
  seq: number;
  config: DeviceConfig;
}

export interface Refusal {
  /** The seq of the contribution that was refused; a newer write by the same owner lifts it. */
  seq: number;
  code: string;
  message: string;
  device: string;
  details?: Record<string, unknown>;
  at: string;
}

export interface SyncSnapshot {
  device: string;
  revision: number;
  contributions: Contribution[];
  applied: { revision: number; config: DeviceConfig; present: boolean };
  /** Refusals that still apply (the owner's contribution is unchanged since). */
  quarantine: Map<string, Refusal>;
  /** Quarantine entries whose owner is gone or rewrote its contribution: to be deleted. */
  staleQuarantine: string[];
  /** Set by the delta read: `contributions` holds only those newer than the applied revision, and
   *  this is the union of the others (the applied configuration). */
  settled?: DeviceConfig;
}

// KEYS: contrib hash, state hash, quarantine hash, seq index. ARGV[1]: the most owners to return.
// Output: {0} when the delta read does not apply, else {1, desiredRev, appliedRev, applied, owners, fragments}.
const DELTA_SNAPSHOT = `
local st = redis.call('HMGET', KEYS[2], 'desiredRev', 'appliedRev', 'applied', 'reshapedRev')
local applied = tonumber(st[2] or '0')
if not st[3] or tonumber(st[4] or '0') > applied or redis.call('HLEN', KEYS[3]) > 0 then return {0} end
if redis.call('ZCARD', KEYS[4]) ~= redis.call('HLEN', KEYS[1]) then return {0} end
local owners = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. applied, '+inf', 'LIMIT', 0, tonumber(ARGV[1]) + 1)
if #owners > tonumber(ARGV[1]) then return {0} end
local frags = {}
if #owners > 0 then frags = redis.call('HMGET', KEYS[1], unpack(owners)) end
return {1, st[1] or '0', st[2] or '0', st[3], owners, frags}
`;

/** Above this many new contributions the full read is as cheap (and Lua's unpack has a limit). */
const DELTA_MAX = 2000;

export async function readSnapshot(redis: Redis, k: Keys, device: string): Promise<SyncSnapshot> {
  const delta = (await evalLua(redis, DELTA_SNAPSHOT, 4, k.deviceContrib(device), k.deviceState(device), k.syncQuarantine(device), k.deviceContribSeq(device), DELTA_MAX)) as [0] | [1, string, string, string, string[], (string | null)[]];
  if (delta[0] === 1) {
    const [, desiredRev, appliedRev, applied, owners, frags] = delta;
    const contributions = owners
      .map((owner, i) => ({ owner, raw: frags[i] }))
      .filter((c): c is { owner: string; raw: string } => c.raw != null)
      .map(({ owner, raw }) => ({ owner, ...(JSON.parse(raw) as { seq: number; config: DeviceConfig }) }))
      .sort((a, b) => a.seq - b.seq);
    const config = JSON.parse(applied) as DeviceConfig;
    return { device, revision: Number(desiredRev), contributions, applied: { revision: Number(appliedRev), config, present: true }, quarantine: new Map(), staleQuarantine: [], settled: config };
  }
  return readFullSnapshot(redis, k, device);
}

export async function readFullSnapshot(redis: Redis, k: Keys, device: string): Promise<SyncSnapshot> {
  const res = await redis
    .multi()
    .hgetall(k.deviceContrib(device))
    .hmget(k.deviceState(device), 'desiredRev', 'appliedRev', 'applied')
    .hgetall(k.syncQuarantine(device))
    .exec();
  if (!res) throw new Error('redis MULTI aborted');
  const contrib = (res[0]?.[1] ?? {}) as Record<string, string>;
  const [desiredRev, appliedRev, applied] = (res[1]?.[1] ?? []) as (string | null)[];
  const refused = (res[2]?.[1] ?? {}) as Record<string, string>;
  const contributions = Object.entries(contrib)
    .map(([owner, raw]) => ({ owner, ...(JSON.parse(raw) as { seq: number; config: DeviceConfig }) }))
    .sort((a, b) => a.seq - b.seq);
  const bySeq = new Map(contributions.map((c) => [c.owner, c.seq]));
  const quarantine = new Map<string, Refusal>();
  const staleQuarantine: string[] = [];
  for (const [owner, raw] of Object.entries(refused)) {
    const r = JSON.parse(raw) as Refusal;
    if (bySeq.get(owner) === r.seq) quarantine.set(owner, r);
    else staleQuarantine.push(owner);
  }
  return {
    device,
    revision: Number(desiredRev ?? 0),
    contributions,
    applied: { revision: Number(appliedRev ?? 0), config: applied ? (JSON.parse(applied) as DeviceConfig) : emptyConfig(), present: applied != null },
    quarantine,
    staleQuarantine,
  };
}

export function unionOf(contributions: readonly Contribution[], base: DeviceConfig = emptyConfig()): DeviceConfig {
  return unionConfigs(contributions.map((c) => c.config), base);
}

/** Contributions written since the last applied revision and not refused: what a sync adds. */
export function pendingOf(s: SyncSnapshot): Contribution[] {
  return s.contributions.filter((c) => c.seq > s.applied.revision && !s.quarantine.has(c.owner));
}

/** The union of the contributions up to the applied revision, refused ones aside. */
export function settledOf(s: SyncSnapshot): DeviceConfig {
  return s.settled ?? unionOf(s.contributions.filter((c) => c.seq <= s.applied.revision && !s.quarantine.has(c.owner)));
}

/** What the device should have: every contribution the device has not refused. */
export function targetOf(s: SyncSnapshot): DeviceConfig {
  return s.settled ? unionOf(pendingOf(s), s.settled) : unionOf(s.contributions.filter((c) => !s.quarantine.has(c.owner)));
}
