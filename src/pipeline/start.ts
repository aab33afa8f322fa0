// One call that starts the production pipeline on an inventory store's Redis: what `nvo worker`
// runs, and what the network proxy's process runs by default (workers inside the proxy).
import { pino, type Logger } from 'pino';
import type { InventoryStore } from '../store/inventory-store.ts';
import { DeviceStateStore } from '../store/device-state.ts';
import { productionDrivers, type XmppControllerLogin } from './drivers.ts';
import { Pipeline } from './pipeline.ts';
import type { WorkerTiming } from './sync-worker.ts';

export interface StartPipelineOptions {
  inventory: InventoryStore;
  /** Worker instances in this process; 0 = only the port (another process syncs). Default 1. */
  workers?: number;
  concurrency?: number;
  checkIntervalMs?: number;
  timing?: Partial<WorkerTiming>;
  xmpp?: XmppControllerLogin | null;
  log?: Logger;
  /** false: one commit per change, the baseline `npm run bench` compares against (NVO_SYNC_COALESCE=0). */
  coalesce?: boolean;
}

export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: '${v}' is not a non-negative number`);
  return n;
}

export function startPipeline(o: StartPipelineOptions): { pipeline: Pipeline; close(): Promise<void> } {
  const log = o.log ?? pino({ name: 'nvo-pipeline', level: process.env.NVO_LOG_LEVEL || 'info' });
  const { redis, k } = o.inventory;
  const store = new DeviceStateStore(redis, k);
  const drv = productionDrivers({ store, inventory: o.inventory, log, xmpp: o.xmpp, eager: (o.workers ?? 1) > 0 });
  const pipeline = new Pipeline({
    redis,
    k,
    drivers: drv.drivers,
    lookup: (id) => o.inventory.get('device', id),
    log,
    workers: o.workers ?? 1,
    concurrency: o.concurrency ?? envNumber('NVO_SYNC_CONCURRENCY', 16),
    checkIntervalMs: o.checkIntervalMs ?? envNumber('NVO_CHECK_SYNC_INTERVAL_MS', 300_000),
    timing: o.timing,
    coalesce: o.coalesce ?? process.env.NVO_SYNC_COALESCE !== '0',
  }).start();
  return {
    pipeline,
    async close() {
      await pipeline.close();
      await drv.close();
    },
  };
}
