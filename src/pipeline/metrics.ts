// Prometheus metrics of the pipeline, on a registry of its own that /metrics serves (other parts may
// register theirs on it too: `pipelineRegistry`). Queue depth is read from BullMQ at scrape time.
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const pipelineRegistry = new Registry();
collectDefaultMetrics({ register: pipelineRegistry, prefix: 'nvo_' });

export const syncDuration = new Histogram({
  name: 'nvo_device_sync_duration_seconds',
  help: 'Time one device sync job held the device, by outcome',
  labelNames: ['device', 'outcome'] as const,
  buckets: [0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
  registers: [pipelineRegistry],
});

export const commits = new Counter({
  name: 'nvo_device_commits_total',
  help: 'Commits made on each device',
  labelNames: ['device'] as const,
  registers: [pipelineRegistry],
});

export const changesPerCommit = new Histogram({
  name: 'nvo_device_changes_per_commit',
  help: 'Desired-state revisions coalesced into one commit',
  labelNames: ['device'] as const,
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
  registers: [pipelineRegistry],
});

export const retries = new Counter({
  name: 'nvo_device_sync_retries_total',
  help: 'Syncs that failed transiently and will be retried with backoff',
  labelNames: ['device', 'code'] as const,
  registers: [pipelineRegistry],
});

export const failures = new Counter({
  name: 'nvo_device_sync_failures_total',
  help: 'Permanent failures: a refused contribution, or a batch no owner could be blamed for',
  labelNames: ['device', 'kind'] as const,
  registers: [pipelineRegistry],
});

export const lockWaits = new Counter({
  name: 'nvo_device_lock_busy_total',
  help: 'Sync jobs that found their device locked by another sync and were delayed',
  labelNames: ['device'] as const,
  registers: [pipelineRegistry],
});

export const drift = new Counter({
  name: 'nvo_device_drift_total',
  help: 'Check-syncs that found a device different from what nvo applied',
  labelNames: ['device'] as const,
  registers: [pipelineRegistry],
});

/** The INVITE latency hook: the network proxy calls observeInvite when it answers. */
export const inviteDuration = new Histogram({
  name: 'nvo_invite_duration_seconds',
  help: 'INVITE received to final answer, by status class',
  labelNames: ['status'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  registers: [pipelineRegistry],
});

export function observeInvite(seconds: number, status: number): void {
  inviteDuration.observe({ status: `${Math.floor(status / 100)}xx` }, seconds);
}

const watched = new Set<Queue>();
new Gauge({
  name: 'nvo_queue_jobs',
  help: 'Jobs in each state of each watched queue',
  labelNames: ['queue', 'state'] as const,
  registers: [pipelineRegistry],
  async collect() {
    this.reset();
    for (const q of watched) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
      for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
    }
  },
});

/** Report this queue's depth at every scrape (until unwatched). */
export function watchQueue(q: Queue): () => void {
  watched.add(q);
  return () => watched.delete(q);
}
