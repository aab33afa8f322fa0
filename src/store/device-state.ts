// Desired and applied configuration per device, in Redis.
//
// A device's desired state is the union of its *contributions*: each owner (a session, a VLAN
// binding, …) writes the fragment it needs, and removing the owner's fragment takes exactly its
// entries away unless another owner still wants them. Writes are one small Lua call (no
// read-modify-write races between processes, no retries under load); the union is computed when the
// pipeline reads it, once per coalesced sync. On a key conflict the newer contribution wins, which is
// what REFER needs when a MAC moves to a new VTEP.
import type { Redis } from 'ioredis';
import { emptyConfig, entryKey, normalizeConfig, type DeviceConfig, ENTRY_KINDS } from '../model/device-config.ts';
import type { Keys } from './keys.ts';
import { evalLua, evalLuaMany } from './lua.ts';

// unreachable: nothing is pending, but nvo's last attempt to reach the device (a repair, a check) failed
// to connect or log in — the device is not known to have what nvo applied.
export type SyncState = 'in-sync' | 'pending' | 'syncing' | 'failed' | 'unreachable';

/** Error codes that mean nvo did not get through to the device (NetconfError unreachable/timeout/
 *  session-lost → unavailable, auth-failed/host-key-mismatch → forbidden; XMPP offline, not-authorized). */
const UNREACHED = new Set(['unavailable', 'forbidden', 'unauthorized', 'timeout']);

export interface DeviceStatus {
  device: string;
  desiredRevision: number;
  appliedRevision: number;
  syncState: SyncState;
  lastError: { code: string; message: string; at: string } | null;
  lastCommitAt: string | null;
  commits: number;
}

// Input: KEYS[1] contrib hash, KEYS[2] state hash, KEYS[3] index set, KEYS[4] seq index (owner → seq)
//        ARGV[1] device id, ARGV[2] owner, ARGV[3] fragment JSON, or '' to remove the owner's fragment
// Output: the new desired revision (unchanged when removing an owner that had nothing)
// reshapedRev: the last revision that removed or rewrote a fragment. Until a sync has applied past
// it, the union cannot be had by adding new fragments to the applied configuration (a removed
// fragment's entries must go unless another owner has them), and the sync reads every fragment.
const SET_CONTRIBUTION = `
if ARGV[3] == '' then
  if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then
    return tonumber(redis.call('HGET', KEYS[2], 'desiredRev') or '0')
  end
end
local rev = redis.call('HINCRBY', KEYS[2], 'desiredRev', 1)
-- State written before reshapedRev existed (or a device's first write) counts as reshaped now: its
-- next sync reads every contribution once.
if redis.call('HEXISTS', KEYS[2], 'reshapedRev') == 0 then redis.call('HSET', KEYS[2], 'reshapedRev', rev) end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[4], ARGV[2])
  redis.call('HSET', KEYS[2], 'reshapedRev', rev)
else
  if redis.call('HSET', KEYS[1], ARGV[2], '{"seq":' .. rev .. ',"config":' .. ARGV[3] .. '}') == 0 then
    redis.call('HSET', KEYS[2], 'reshapedRev', rev)
  end
  redis.call('ZADD', KEYS[4], rev, ARGV[2])
end
redis.call('SADD', KEYS[3], ARGV[1])
return rev
`;

// Input: KEYS[1] state hash; ARGV[1] revision, ARGV[2] applied config JSON, ARGV[3] ISO time,
//        ARGV[4] channel, ARGV[5] device id, ARGV[6] '1' when a commit was made,
//        ARGV[7] how the device answered during this sync ('' when it was not contacted)
// Output: 1 when recorded, 0 when an equal or newer revision was already recorded (the answer is
// recorded either way). A record without contact (nothing to send) moves the revision only: it
// neither counts as reaching the device nor clears the error of the last attempt that failed to.
const RECORD_APPLIED = `
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'reachedAt', ARGV[3], 'reachedVia', ARGV[7])
  redis.call('HDEL', KEYS[1], 'lastError')
end
local cur = tonumber(redis.call('HGET', KEYS[1], 'appliedRev') or '0')
local rev = tonumber(ARGV[1])
if rev <= cur and redis.call('HEXISTS', KEYS[1], 'applied') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'appliedRev', rev, 'applied', ARGV[2], 'lastSyncAt', ARGV[3])
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[1], 'lastCommitAt', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'commits', 1)
end
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. rev)
return 1
`;

export class DeviceStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  /** Sets (or, with null, removes) one owner's fragment of a device's desired state. Returns the new revision. */
  async setContribution(device: string, owner: string, fragment: DeviceConfig | null): Promise<number> {
    return (await this.setContributions(owner, new Map([[device, fragment]]))).get(device)!;
  }

  /** setContribution for several devices at once (one round trip); device → its new revision. */
  async setContributions(owner: string, fragments: ReadonlyMap<string, DeviceConfig | null>): Promise<Map<string, number>> {
    const devices = [...fragments.keys()];
    const revs = await evalLuaMany(
      this.redis,
      SET_CONTRIBUTION,
      devices.map((device) => {
        const fragment = fragments.get(device);
        return { numKeys: 4, args: [this.k.deviceContrib(device), this.k.deviceState(device), this.k.deviceIndex, this.k.deviceContribSeq(device), device, owner, fragment ? JSON.stringify(normalizeConfig(fragment)) : ''] };
      }),
    );
    return new Map(devices.map((device, i) => [device, Number(revs[i])]));
  }

  async contribution(device: string, owner: string): Promise<DeviceConfig | null> {
    const raw = await this.redis.hget(this.k.deviceContrib(device), owner);
    return raw ? (JSON.parse(raw) as { config: DeviceConfig }).config : null;
  }

  async owners(device: string): Promise<string[]> {
    return this.redis.hkeys(this.k.deviceContrib(device));
  }

  /** The union of every contribution, with the revision it corresponds to (read atomically). */
  async desired(device: string): Promise<{ revision: number; config: DeviceConfig }> {
    const res = await this.redis.multi().hgetall(this.k.deviceContrib(device)).hget(this.k.deviceState(device), 'desiredRev').exec();
    const contrib = (res?.[0]?.[1] ?? {}) as Record<string, string>;
    const revision = Number(res?.[1]?.[1] ?? 0);
    const frags = Object.values(contrib)
      .map((raw) => JSON.parse(raw) as { seq: number; config: DeviceConfig })
      .sort((a, b) => a.seq - b.seq);
    return { revision, config: unionConfigs(frags.map((f) => f.config)) };
  }

  async applied(device: string): Promise<{ revision: number; config: DeviceConfig }> {
    const [rev, raw] = await this.redis.hmget(this.k.deviceState(device), 'appliedRev', 'applied');
    return { revision: Number(rev ?? 0), config: raw ? (JSON.parse(raw) as DeviceConfig) : emptyConfig() };
  }

  /** Only the applied revision: waiters need no configuration. */
  async appliedRevision(device: string): Promise<number> {
    return Number((await this.redis.hget(this.k.deviceState(device), 'appliedRev')) ?? 0);
  }

  /** Records what the device now has. Publishes `device revision` on the applied channel. `reached`:
   *  the device answered during this sync (how: 'sync', 'check'), which also clears the last error. */
  async recordApplied(device: string, revision: number, config: DeviceConfig, opts: { committed: boolean; reached?: string; at?: Date }): Promise<boolean> {
    const at = (opts.at ?? new Date()).toISOString();
    const r = await evalLua(this.redis, 
      RECORD_APPLIED,
      1,
      this.k.deviceState(device),
      revision,
      JSON.stringify(normalizeConfig(config)),
      at,
      this.k.deviceApplied,
      device,
      opts.committed ? '1' : '0',
      opts.reached ?? '',
    );
    return Number(r) === 1;
  }

  async recordError(device: string, error: { code: string; message: string }): Promise<void> {
    await this.redis.hset(this.k.deviceState(device), 'lastError', JSON.stringify({ ...error, at: new Date().toISOString() }));
  }

  /** Forgets the last error: the sync that followed it reached the device and finished. */
  async clearError(device: string): Promise<void> {
    await this.redis.hdel(this.k.deviceState(device), 'lastError');
  }

  /** The device answered nvo (a check read it back, an XMPP agent announced itself): an aNVE counts as
   *  registered once it has. recordApplied with `reached` records the same for a sync that answered. */
  async recordReached(device: string, via: string, at: Date = new Date()): Promise<void> {
    await this.redis.hset(this.k.deviceState(device), 'reachedAt', at.toISOString(), 'reachedVia', via);
  }

  /** When nvo last reached the device and how, or null if it never has. Only an answer counts: a sync
   *  with nothing to send records a revision without contact (its `lastSyncAt`), which proves nothing.
   *  State written before `reachedAt` existed counts from its last commit. */
  async reachability(device: string): Promise<{ at: string; via: string } | null> {
    const [reachedAt, via, lastCommitAt] = await this.redis.hmget(this.k.deviceState(device), 'reachedAt', 'reachedVia', 'lastCommitAt');
    if (reachedAt) return { at: reachedAt, via: via ?? 'unknown' };
    return lastCommitAt ? { at: lastCommitAt, via: 'sync' } : null;
  }

  async setSyncing(device: string, syncing: boolean): Promise<void> {
    if (syncing) await this.redis.hset(this.k.deviceState(device), 'syncing', '1');
    else await this.redis.hdel(this.k.deviceState(device), 'syncing');
  }

  async status(device: string): Promise<DeviceStatus> {
    const res = await this.redis.multi().hgetall(this.k.deviceState(device)).exists(this.k.syncLock(device)).exec();
    const h = (res?.[0]?.[1] ?? {}) as Record<string, string>;
    // Syncing only while a worker holds the device's lease: the flag alone would outlive a worker
    // killed mid-sync and make the device look busy (and skipped by the sweep) until its next sync.
    const leased = Number(res?.[1]?.[1] ?? 0) === 1;
    const desiredRevision = Number(h.desiredRev ?? 0);
    const appliedRevision = Number(h.appliedRev ?? 0);
    const lastError = h.lastError ? (JSON.parse(h.lastError) as DeviceStatus['lastError']) : null;
    const syncState: SyncState =
      h.syncing && leased ? 'syncing'
      : appliedRevision < desiredRevision ? (lastError ? 'failed' : 'pending')
      : lastError && UNREACHED.has(lastError.code) ? 'unreachable'
      : 'in-sync';
    return { device, desiredRevision, appliedRevision, syncState, lastError, lastCommitAt: h.lastCommitAt ?? null, commits: Number(h.commits ?? 0) };
  }

  async devices(): Promise<string[]> {
    return (await this.redis.smembers(this.k.deviceIndex)).sort();
  }

  /** Forgets a device's state entirely (the device was deleted from the inventory). */
  async drop(device: string): Promise<void> {
    await this.redis.multi().del(this.k.deviceContrib(device), this.k.deviceContribSeq(device), this.k.deviceState(device)).srem(this.k.deviceIndex, device).exec();
  }
}

/** The union of fragments in the order given, a later one winning a key conflict: one map per kind
 *  and one sort, linear in the entries (merging fragment by fragment re-sorted the whole union for
 *  each, quadratic in a gateway's sessions). */
export function unionConfigs(fragments: readonly DeviceConfig[], base: DeviceConfig = emptyConfig()): DeviceConfig {
  const out = emptyConfig();
  for (const kind of ENTRY_KINDS) {
    const key = entryKey[kind] as (e: unknown) => string;
    const m = new Map<string, unknown>();
    for (const e of base[kind] as unknown[]) m.set(key(e), e);
    for (const f of fragments) for (const e of f[kind] as unknown[]) m.set(key(e), e);
    (out[kind] as unknown[]) = [...m.values()];
  }
  return normalizeConfig(out);
}

export function configSize(c: DeviceConfig): number {
  return ENTRY_KINDS.reduce((n, k) => n + c[k].length, 0);
}
