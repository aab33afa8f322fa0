// nvo worker: device sync workers as a process of their own, to scale out beyond the workers that run
// inside the proxy. Any number of them may run against one Redis: the per-device lock keeps one sync
// per device at a time. Its sync figures are in its own registry: --metrics-port serves them.
import type { Command } from 'commander';
import type { MetricsListener } from '../../api/metrics-listener.ts';
import { invalid } from '../../errors.ts';
import { intArg, type CliContext } from '../context.ts';

export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run device sync workers (NETCONF and XMPP) until SIGINT/SIGTERM')
    .option('--concurrency <n>', 'devices synced at once by this process (default NVO_SYNC_CONCURRENCY or 16)', intArg('--concurrency', 1, 10_000))
    .option('--check-interval <seconds>', 'drift check of every device; 0 = off (default NVO_CHECK_SYNC_INTERVAL_MS or 300 s)', (v) => intArg('--check-interval', 0, 86_400)(v) * 1000)
    .option('--metrics-port <n>', "serve this process's Prometheus /metrics here (0 = any free port); off unless given", intArg('--metrics-port', 0, 65535))
    .option('--metrics-host <host>', 'address for --metrics-port (default 127.0.0.1)')
    .action(async (opts: { concurrency?: number; checkInterval?: number; metricsPort?: number; metricsHost?: string }) => {
      const { startPipeline } = await import('../../pipeline/start.ts');
      if (opts.metricsHost !== undefined && opts.metricsPort === undefined) throw invalid('--metrics-host', 'needs --metrics-port');
      const inventory = await ctx.store();
      await inventory.redis.ping();
      // Before the workers: a port that is taken stops the process before it takes a job.
      let metrics: MetricsListener | null = null;
      if (opts.metricsPort !== undefined) {
        const { listenMetrics } = await import('../../api/metrics-listener.ts');
        metrics = await listenMetrics({ host: opts.metricsHost, port: opts.metricsPort });
      }
      const run = startPipeline({ inventory, concurrency: opts.concurrency, checkIntervalMs: opts.checkInterval });
      await Promise.all(run.pipeline.workers.map((w) => w.waitUntilReady()));
      process.stderr.write(`nvo: sync worker ${process.pid} running${metrics ? `, metrics at ${metrics.url}` : ''}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void Promise.allSettled([run.close(), metrics?.close()]).then(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
