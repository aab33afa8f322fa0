// The BullMQ side of a sync: take the device's lease or step aside, run device-sync.ts, and classify
// the outcome for BullMQ — transient faults are retried with backoff and jitter (backoffDelay), a
// refusal nobody could be blamed for, a wrong host key or a refused login is an UnrecoverableError
// (device-sync.ts turns them into DeviceRefusedError), a busy device is a delay that costs no attempt.
// A repair flag taken by an attempt that failed is put back, so the retry reads the device too.
//
// Crash safety: a worker that dies mid-sync leaves its job active with a lock that is no longer
// renewed; after lockDuration BullMQ's stalled check (every stalledInterval) moves it back to wait,
// and the device lease expires after the same time, so recovery takes about lockDuration +
// stalledInterval. The device itself rolls back a confirmed commit that no one confirms.
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { deviceWords, isRetryable } from './device-driver.ts';
import { DeviceLock } from './device-lock.ts';
import { DeviceRefusedError, syncDevice, type SyncDeps } from './device-sync.ts';
import * as m from './metrics.ts';
import { backoffDelay, DEFAULT_RETRY, SYNC_QUEUE, type RetryPolicy, type SyncEnqueuer, type SyncJobData } from './sync-queue.ts';

export interface WorkerTiming {
  /** BullMQ job lock and device lease lifetime; both are renewed at a third/half of it while a sync runs. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** How long a job waits before trying a busy device again (the holder promotes it on release). */
  busyDelayMs: number;
}

// 10 s/5 s: a dead worker's device is picked up again in ~10–15 s (BullMQ's 30 s default takes ~60 s, lab-facts);
// a sync that blocks the event loop for 10 s would be taken over, which no commit should.
export const DEFAULT_TIMING: WorkerTiming = { lockDurationMs: 10_000, stalledIntervalMs: 5_000, busyDelayMs: 1_000 };

export interface SyncWorkerOptions {
  connection: ConnectionOptions;
  deps: SyncDeps;
  enqueuer: SyncEnqueuer;
  concurrency?: number;
  timing?: Partial<WorkerTiming>;
  retry?: RetryPolicy;
  /** Called for every finished sync (tests record start/end; the bench counts commits). */
  onSync?: (e: { device: string; start: number; end: number; commits: number; coalesced: number; worker: string }) => void;
}

export function startSyncWorker(o: SyncWorkerOptions): Worker<SyncJobData> {
  const timing = { ...DEFAULT_TIMING, ...o.timing };
  const retry = o.retry ?? DEFAULT_RETRY;
  const { deps } = o;
  const lock = new DeviceLock(deps.redis, deps.k, timing.lockDurationMs);
  const workerName = `${process.pid}`;

  const process_ = async (job: Job<SyncJobData>, token?: string) => {
    const { device, sessionId } = job.data;
    const lease = await lock.acquire(device);
    if (!lease) {
      m.lockWaits.inc({ device });
      await job.moveToDelayed(Date.now() + timing.busyDelayMs + Math.floor(Math.random() * 100), token);
      throw new DelayedError();
    }
    const start = Date.now();
    const log = deps.log.child({ job: job.id, attempt: job.attemptsMade + 1, ...(sessionId ? { session: sessionId } : {}) });
    let outcome = 'ok';
    let repair = false;
    try {
      repair = (await deps.redis.srem(deps.k.syncRepair, device)) === 1;
      const r = await syncDevice({ ...deps, log }, device, lease, { repair });
      if (r.commits > 0) {
        m.commits.inc({ device }, r.commits);
        m.changesPerCommit.observe({ device }, r.coalesced);
      }
      o.onSync?.({ device, start, end: Date.now(), commits: r.commits, coalesced: r.coalesced, worker: workerName });
      if (r.behind) await o.enqueuer.enqueue(device);
      return { revision: r.revision, commits: r.commits, coalesced: r.coalesced, refused: r.refused, drift: r.drift };
    } catch (err) {
      // The repair (or drift check) did not happen: the next attempt, or the next job of this device
      // once a permanent fault is fixed, must read the device again — never a plain sync with nothing
      // to send that completes without talking to it.
      if (repair) await deps.redis.sadd(deps.k.syncRepair, device).catch(() => undefined);
      if (err instanceof DeviceRefusedError) {
        outcome = 'refused';
        throw new UnrecoverableError(err.message);
      }
      if (isRetryable(err)) {
        outcome = 'retry';
        const words = deviceWords(device, err);
        m.retries.inc({ device, code: words.code });
        await deps.store.recordError(device, { code: words.code, message: words.message }).catch(() => undefined);
        log.warn({ event: 'sync-retry', err: words }, 'transient fault; retrying with backoff');
        throw err;
      }
      // Anything else (a bug, Redis gone) is retried too, but said loudly, and shown with the device.
      outcome = 'error';
      log.error({ event: 'sync-error', err }, 'sync failed');
      const words = deviceWords(device, err);
      await deps.store.recordError(device, { code: words.code, message: words.message }).catch(() => undefined);
      throw err;
    } finally {
      await lease.release().catch(() => undefined);
      m.syncDuration.observe({ device, outcome }, (Date.now() - start) / 1000);
      await o.enqueuer.promoteNext(device).catch(() => undefined);
    }
  };

  const worker = new Worker<SyncJobData>(SYNC_QUEUE, process_, {
    connection: o.connection,
    prefix: deps.k.bullPrefix,
    concurrency: o.concurrency ?? 16,
    lockDuration: timing.lockDurationMs,
    stalledInterval: timing.stalledIntervalMs,
    // A stall is the worker's fault, not the device's: let recovery try a few times.
    maxStalledCount: 5,
    settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, retry) },
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    deps.log.error({ device: job.data.device, job: job.id, err: err.message, attempts: job.attemptsMade }, 'sync job failed');
  });
  worker.on('error', (err) => deps.log.error({ err: err.message }, 'sync worker error'));
  return worker;
}
