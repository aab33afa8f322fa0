// The routes `nvo serve` adds to the inventory's, in one place, so the server and the test that keeps
// docs/admin-api.md honest (test/api/admin-api-doc.test.ts) build the same app: the queue dashboard
// and metrics of the device pipeline, the overview, hNVE provisioning.
import type { FastifyPluginAsync } from 'fastify';
import type { InventoryStore } from '../store/inventory-store.ts';

export interface ServedRoutes {
  plugins: FastifyPluginAsync[];
  /** Closes the sync queue's connections (they would keep a stopped server's process alive). */
  close(): Promise<void>;
}

export async function servedRoutes(store: InventoryStore): Promise<ServedRoutes> {
  const { openSyncQueue } = await import('../pipeline/sync-queue.ts');
  const { bullConnection } = await import('../pipeline/pipeline.ts');
  const { watchQueue } = await import('../pipeline/metrics.ts');
  const { queuesRoutes } = await import('./routes/queues.ts');
  const { metricsRoutes } = await import('./routes/metrics.ts');
  const { overviewRoutes } = await import('./routes/overview.ts');
  const { hnveRoutes } = await import('./routes/hnves.ts');
  const { ViewSources } = await import('../proxy/views/sources.ts');
  const views = new ViewSources(store.redis, store.k, store);
  const syncQueue = openSyncQueue(bullConnection(store.redis), store.k);
  const unwatch = watchQueue(syncQueue);
  return {
    plugins: [queuesRoutes([syncQueue]), metricsRoutes(), overviewRoutes(views), hnveRoutes(views.nves)],
    async close() {
      unwatch();
      await syncQueue.close();
    },
  };
}
