// nvo worker: device sync workers as a process of their own, to scale out beyond the workers that run
// inside the proxy. Any number of them may run against one Redis: the per-device lock keeps one sync
// per device at a time.
import type { Command } from 'commander';
import { intArg, type CliContext } from '../context.ts';

export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run device sync workers (NETCONF and XMPP) until SIGINT/SIGTERM')
    .option('--concurrency <n>', 'devices synced at once by this process (default NVO_SYNC_CONCURRENCY or 16)', intArg('--concurrency', 1, 10_000))
    .option('--check-interval <seconds>', 'drift check of every device; 0 = off (default NVO_CHECK_SYNC_INTERVAL_MS or 300 s)', (v) => intArg('--check-interval', 0, 86_400)(v) * 1000)
    .action(async (opts: { concurrency?: number; checkInterval?: number }) => {
      const { startPipeline } = await import('../../pipeline/start.ts');
      const inventory = await ctx.store();
      await inventory.redis.ping();
      const run = startPipeline({ inventory, concurrency: opts.concurrency, checkIntervalMs: opts.checkInterval });
      await Promise.all(run.pipeline.workers.map((w) => w.waitUntilReady()));
      process.stderr.write(`nvo: sync worker ${process.pid} running\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void run.close().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
