// The device-sync queue: one BullMQ queue for every device, at most one *waiting* job per device.
//
// A job is named `sync.<device>.<epoch>`. The epoch is the device's fence counter (device-lock.ts),
// which a job advances in the same Lua call that grants it the device. So:
//  - every request before that grant adds the same jobId, which BullMQ drops as a duplicate: all those
//    changes ride on one job, and the job reads the desired state only after the grant, so it sees them;
//  - every request after the grant names the next epoch and creates exactly one new waiting job, so a
//    change that lands while a sync runs is never missed and needs no post-hoc re-check.
// BullMQ's `deduplication` option would also drop adds while the job is *active*, which loses changes.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '../store/keys.ts';
import { evalLua, evalLuaMany } from '../store/lua.ts';

export const SYNC_QUEUE = 'device-sync';

export interface SyncJobData {
  device: string;
  /** The session whose request created the job (logs); coalesced requests are not listed. */
  sessionId?: string;
}

export interface RetryPolicy {
  /** Tries per job for transient faults; afterwards the periodic sweep re-queues the device. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 12, baseDelayMs: 500, maxDelayMs: 30_000 };

export { backoffDelay } from '../backoff.ts';

export function jobIdFor(device: string, epoch: number): string {
  return `sync.${device}.${epoch}`;
}

export function syncJobOptions(jobId: string, retry: RetryPolicy): JobsOptions {
  return {
    jobId,
    attempts: retry.attempts,
    backoff: { type: 'device' },
    // Keep some history for the dashboard; a finished job's id is never reused (the epoch moved on).
    removeOnComplete: { count: 500, age: 3600 },
    removeOnFail: { count: 1000, age: 7 * 24 * 3600 },
  };
}

export function openSyncQueue(connection: ConnectionOptions, k: Keys): Queue<SyncJobData> {
  return new Queue<SyncJobData>(SYNC_QUEUE, { connection, prefix: k.bullPrefix });
}

export class SyncEnqueuer {
  constructor(
    private readonly queue: Queue<SyncJobData>,
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Makes sure a job will sync the device after now; returns its id. */
  async enqueue(device: string, sessionId?: string): Promise<string> {
    return (await this.enqueueMany([device], sessionId))[0]!;
  }

  /** enqueue for several devices; their job ids. Cheap when a job is already waiting: one round trip
   *  reads every device's epoch and whether its job exists — adding it again would be a no-op (BullMQ
   *  ignores an add with a jobId it holds), so only a missing job costs BullMQ's add. */
  async enqueueMany(devices: readonly string[], sessionId?: string): Promise<string[]> {
    const found = (await evalLuaMany(
      this.redis,
      EPOCH_JOB,
      devices.map((device) => ({ numKeys: 1, args: [this.k.syncEpoch(device), this.queue.toKey(''), `sync.${device}.`] })),
    )) as [number, number][];
    return Promise.all(
      devices.map(async (device, i) => {
        const [epoch, exists] = found[i]!;
        const jobId = jobIdFor(device, epoch);
        if (!exists) await this.queue.add('sync', { device, ...(sessionId ? { sessionId } : {}) }, syncJobOptions(jobId, this.retry));
        return jobId;
      }),
    );
  }

  /** Like enqueue, but also recovers from a job that ended without ever getting the device (its id,
   *  still the current epoch's, would swallow every later add): such an epoch is skipped. Used by the
   *  sweep and by repairs, not on the hot path. */
  async ensure(device: string, sessionId?: string): Promise<string> {
    for (let i = 0; i < 3; i++) {
      const epoch = Number((await this.redis.get(this.k.syncEpoch(device))) ?? 0);
      const jobId = jobIdFor(device, epoch);
      const existing = await this.queue.getJob(jobId);
      const state = existing ? await existing.getState() : 'missing';
      if (state !== 'completed' && state !== 'failed') return this.enqueue(device, sessionId);
      // Only bump when nobody else did meanwhile.
      await evalLua(this.redis, BUMP_IF, 1, this.k.syncEpoch(device), epoch);
    }
    return this.enqueue(device, sessionId);
  }

  /** After a sync released the device: start the next waiting job now rather than at its next poll. */
  async promoteNext(device: string): Promise<void> {
    const epoch = Number((await this.redis.get(this.k.syncEpoch(device))) ?? 0);
    const job = await this.queue.getJob(jobIdFor(device, epoch));
    if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
  }
}

// Input: KEYS[1] epoch; ARGV[1] the queue's key prefix, ARGV[2] the job id before the epoch (the job
// key is built here because it depends on the epoch just read). Output: {epoch, 1 if the job exists}.
const EPOCH_JOB = `
local epoch = tonumber(redis.call('GET', KEYS[1]) or '0')
return {epoch, redis.call('EXISTS', ARGV[1] .. ARGV[2] .. epoch)}
`;

// Input: KEYS[1] epoch; ARGV[1] the epoch seen. Output: the epoch after.
const BUMP_IF = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur == tonumber(ARGV[1]) then return redis.call('INCR', KEYS[1]) end
return cur
`;
