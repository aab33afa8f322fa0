// The periodic sweep, run by whichever process wins the round (a Redis key with the interval as TTL):
//  - drift: every `checkIntervalMs`, each device's next sync reads the device back first and repairs
//    any out-of-band change (device-sync.ts, repair mode);
//  - lost work: a device whose desired revision is ahead of its applied one, with no failure covering
//    that revision, gets a job again (a job that ran out of retries, a Redis blip during an enqueue).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeviceStateStore } from '../store/device-state.ts';
import type { Keys } from '../store/keys.ts';
import type { SyncEnqueuer } from './sync-queue.ts';
import type { SyncRecords } from './sync-records.ts';

export interface CheckSyncOptions {
  redis: Redis;
  k: Keys;
  store: DeviceStateStore;
  records: SyncRecords;
  enqueuer: SyncEnqueuer;
  log: Logger;
  /** Drift check of every device; 0 turns it off. */
  checkIntervalMs: number;
  /** How often to look for devices left behind. */
  sweepIntervalMs?: number;
}

export async function sweepBehind(o: Pick<CheckSyncOptions, 'store' | 'records' | 'enqueuer'>): Promise<string[]> {
  const queued: string[] = [];
  for (const device of await o.store.devices()) {
    const s = await o.store.status(device);
    if (s.appliedRevision >= s.desiredRevision || s.syncState === 'syncing') continue;
    const f = await o.records.failure(device);
    if (f && f.revision >= s.desiredRevision) continue;
    await o.enqueuer.ensure(device);
    queued.push(device);
  }
  return queued;
}

export async function checkAll(o: Pick<CheckSyncOptions, 'redis' | 'k' | 'store' | 'enqueuer'>): Promise<string[]> {
  const devices = await o.store.devices();
  if (devices.length) await o.redis.sadd(o.k.syncRepair, ...devices);
  for (const d of devices) await o.enqueuer.ensure(d);
  return devices;
}

/** Starts the timers; returns a stop function. */
export function startCheckSync(o: CheckSyncOptions): () => void {
  const sweepMs = o.sweepIntervalMs ?? 30_000;
  const round = async (name: string, ms: number, fn: () => Promise<string[]>) => {
    // One process per round across the fleet of proxies and workers.
    const won = await o.redis.set(`${o.k.prefix}dev:sync:round:${name}`, String(process.pid), 'PX', ms, 'NX');
    if (!won) return;
    const devices = await fn();
    if (devices.length) o.log.info({ event: name, devices: devices.slice(0, 50), count: devices.length }, `${name}: queued`);
  };
  const timers = [setInterval(() => void round('sweep', sweepMs, () => sweepBehind(o)).catch((err: unknown) => o.log.error({ err }, 'sweep failed')), sweepMs)];
  if (o.checkIntervalMs > 0) {
    timers.push(setInterval(() => void round('check-sync', o.checkIntervalMs, () => checkAll(o)).catch((err: unknown) => o.log.error({ err }, 'check-sync failed')), o.checkIntervalMs));
  }
  for (const t of timers) t.unref();
  return () => timers.forEach(clearInterval);
}
