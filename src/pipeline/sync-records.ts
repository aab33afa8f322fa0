// What a sync leaves behind for the waiting sessions: refusals (a contribution the device rejected,
// with the device's words) and unattributed failures. Both are written *before* the applied record
// and the failure channel's message, so a waiter that wakes up on either finds them.
import type { Redis } from 'ioredis';
import type { Keys } from '../store/keys.ts';
import type { Refusal } from './sync-snapshot.ts';

export interface FailureRecord {
  /** The desired revision the failed sync tried to reach: sessions at or below it fail. */
  revision: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  at: string;
}

export class SyncRecords {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  async refuse(device: string, refusals: Map<string, Refusal>): Promise<void> {
    if (refusals.size === 0) return;
    const flat = [...refusals].flatMap(([owner, r]) => [owner, JSON.stringify(r)]);
    await this.redis.hset(this.k.syncQuarantine(device), ...flat);
  }

  async dropRefusals(device: string, owners: string[]): Promise<void> {
    if (owners.length) await this.redis.hdel(this.k.syncQuarantine(device), ...owners);
  }

  async fail(device: string, f: FailureRecord): Promise<void> {
    await this.redis.set(this.k.syncFailure(device), JSON.stringify(f));
  }

  async failure(device: string): Promise<FailureRecord | null> {
    const raw = await this.redis.get(this.k.syncFailure(device));
    return raw ? (JSON.parse(raw) as FailureRecord) : null;
  }

  async clearFailure(device: string): Promise<void> {
    await this.redis.del(this.k.syncFailure(device));
  }

  /** Wakes the waiters of this device (they re-read the records above). */
  async notify(device: string, revision: number): Promise<void> {
    await this.redis.publish(this.k.deviceSyncFailed, `${device} ${revision}`);
  }

  /** Everything a waiter needs to judge one device, in one round trip. */
  async verdictInputs(device: string): Promise<{ appliedRevision: number; refusals: Map<string, Refusal>; failure: FailureRecord | null; lastError: string | null }> {
    const res = await this.redis
      .multi()
      .hmget(this.k.deviceState(device), 'appliedRev', 'lastError')
      .hgetall(this.k.syncQuarantine(device))
      .get(this.k.syncFailure(device))
      .exec();
    const [appliedRev, lastError] = (res?.[0]?.[1] ?? []) as (string | null)[];
    const refused = (res?.[1]?.[1] ?? {}) as Record<string, string>;
    const failure = res?.[2]?.[1] as string | null;
    return {
      appliedRevision: Number(appliedRev ?? 0),
      refusals: new Map(Object.entries(refused).map(([o, raw]) => [o, JSON.parse(raw) as Refusal])),
      failure: failure ? (JSON.parse(failure) as FailureRecord) : null,
      lastError: lastError ?? null,
    };
  }
}
