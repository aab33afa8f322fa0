// The pipeline composed: queue, enqueuer, the DeviceSyncPort for the network proxy, and — by
// default inside the same process — sync workers and the periodic check-sync. `nvo worker` starts
// only workers and check-sync, to scale out.
import type { ConnectionOptions, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Device } from '../model/device.ts';
import { DeviceStateStore } from '../store/device-state.ts';
import type { Keys } from '../store/keys.ts';
import { BullmqDeviceSync } from './bullmq-device-sync.ts';
import { startCheckSync } from './check-sync.ts';
import type { DriverRegistry } from './driver-registry.ts';
import { watchQueue } from './metrics.ts';
import { DEFAULT_RETRY, openSyncQueue, SyncEnqueuer, type RetryPolicy } from './sync-queue.ts';
import { SyncRecords } from './sync-records.ts';
import { startSyncWorker, type SyncWorkerOptions, type WorkerTiming } from './sync-worker.ts';

export interface PipelineOptions {
  redis: Redis;
  k: Keys;
  drivers: DriverRegistry;
  lookup: (id: string) => Promise<Device | null>;
  log?: Logger;
  /** Sync workers in this process (0: none, e.g. a proxy that leaves syncing to `nvo worker`). */
  workers?: number;
  concurrency?: number;
  timing?: Partial<WorkerTiming>;
  retry?: RetryPolicy;
  /** Drift check interval; 0 = off. */
  checkIntervalMs?: number;
  sweepIntervalMs?: number;
  coalesce?: boolean;
  onSync?: SyncWorkerOptions['onSync'];
}

/** BullMQ opens its own connections (blocking commands need their own); same server, no retry limit. */
export function bullConnection(redis: Redis): ConnectionOptions {
  const { host, port, db, username, password, tls } = redis.options;
  return { host, port, db, username, password, tls, maxRetriesPerRequest: null };
}

export class Pipeline {
  readonly queue;
  readonly enqueuer: SyncEnqueuer;
  readonly port: BullmqDeviceSync;
  readonly store: DeviceStateStore;
  readonly records: SyncRecords;
  readonly workers: Worker[] = [];
  private readonly stops: (() => void)[] = [];
  private readonly log: Logger;

  constructor(private readonly o: PipelineOptions) {
    // BullMQ wants its own connections (blocking commands); it duplicates these options.
    const connection = bullConnection(o.redis);
    this.log = o.log ?? pino({ name: 'nvo-pipeline' });
    this.queue = openSyncQueue(connection, o.k);
    this.stops.push(watchQueue(this.queue));
    const retry = o.retry ?? DEFAULT_RETRY;
    this.enqueuer = new SyncEnqueuer(this.queue, o.redis, o.k, retry);
    this.port = new BullmqDeviceSync(o.redis, o.k, this.enqueuer);
    this.store = new DeviceStateStore(o.redis, o.k);
    this.records = new SyncRecords(o.redis, o.k);
  }

  start(): this {
    const n = this.o.workers ?? 1;
    for (let i = 0; i < n; i++) {
      this.workers.push(
        startSyncWorker({
          connection: bullConnection(this.o.redis),
          deps: { redis: this.o.redis, k: this.o.k, store: this.store, records: this.records, drivers: this.o.drivers, lookup: this.o.lookup, log: this.log, coalesce: this.o.coalesce },
          enqueuer: this.enqueuer,
          concurrency: this.o.concurrency,
          timing: this.o.timing,
          retry: this.o.retry,
          onSync: this.o.onSync,
        }),
      );
    }
    if (n > 0 || this.o.checkIntervalMs) {
      this.stops.push(
        startCheckSync({
          redis: this.o.redis,
          k: this.o.k,
          store: this.store,
          records: this.records,
          enqueuer: this.enqueuer,
          log: this.log,
          checkIntervalMs: this.o.checkIntervalMs ?? 0,
          sweepIntervalMs: this.o.sweepIntervalMs,
        }),
      );
    }
    return this;
  }

  async close(): Promise<void> {
    for (const stop of this.stops) stop();
    await Promise.all(this.workers.map((w) => w.close()));
    await this.port.close();
    await this.queue.close();
  }
}
