// nvo worker: device sync workers as a process of their own, to scale out beyond the workers that run
// inside the proxy. Any number of them may run against one Redis: the per-device lock keeps one sync
// per device at a time.
import type { Command } from 'commander';
import { invalid } from '../../errors.ts';
import type { CliContext } from '../context.ts';

const positive = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(name, `'${v}' is not a positive whole number`);
  return Number(v);
};

export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run device sync workers (NETCONF and XMPP) until SIGINT/SIGTERM')
    .option('--concurrency <n>', 'devices synced at once by this process (default NVO_SYNC_CONCURRENCY or 16)', positive('--concurrency'))
    .option('--check-interval <seconds>', 'drift check of every device; 0 = off (default NVO_CHECK_SYNC_INTERVAL_MS or 300 s)', (v) => {
      if (!/^\d+$/.test(v)) throw invalid('--check-interval', `'${v}' is not a whole number of seconds`);
      return Number(v) * 1000;
    })
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
