// nvo device sync|diff|status — the pipeline's view of devices: repair one now (read back, compare,
// fix), show the edit the next sync would send (the worker's own plan), and each device's revisions,
// sync state, last error and last commit.
import type { Command } from 'commander';
import { invalid, notFound, NvoError } from '../../errors.ts';
import { diffConfig, countChange } from '../../model/device-config.ts';
import type { CliContext } from '../context.ts';

export function registerDeviceSync(program: Command, ctx: CliContext): void {
  const group = program.commands.find((c) => c.name() === 'device') ?? program.command('device').description('devices');

  group
    .command('sync <id>')
    .description('repair a device now: read what it has, compare with what it should have, fix the difference (needs a running proxy or nvo worker)')
    .option('--timeout <seconds>', 'how long to wait for a worker', '60')
    .option('--json', 'machine-readable result')
    .action(async (id: string, opts: { timeout: string; json?: boolean }) => {
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw invalid('--timeout', `'${opts.timeout}' is not a positive number of seconds`);
      const inventory = await ctx.store();
      if (!(await inventory.get('device', id))) throw notFound('device', id);
      const { Pipeline } = await import('../../pipeline/pipeline.ts');
      const { DriverRegistry } = await import('../../pipeline/driver-registry.ts');
      const p = new Pipeline({ redis: inventory.redis, k: inventory.k, drivers: new DriverRegistry(), lookup: async () => null, workers: 0 }).start();
      try {
        const jobId = await p.port.repair(id, 'cli');
        const until = Date.now() + timeoutMs;
        // The job's failed attempts so far; each is said on stderr while the worker retries.
        let attempts = 0;
        for (;;) {
          // The state first, then the job: a job read before it failed (or completed) has no reason (or
          // return value) yet, though the state read after it says it is done.
          const state = await p.queue.getJobState(jobId);
          const job = await p.queue.getJob(jobId);
          if (job && state === 'completed') {
            const r = job.returnvalue as { revision: number; commits: number; drift: boolean; refused: string[] };
            const status = await p.store.status(id);
            if (opts.json) ctx.json({ device: id, ...r, status });
            else ctx.print(`${id}: ${status.syncState} at revision ${status.appliedRevision}; ${r.drift ? 'drift found and repaired' : 'no drift'}; ${r.commits} commit(s)${r.refused.length ? `; refused: ${r.refused.join(', ')}` : ''}`);
            return;
          }
          // A permanent fault (a wrong host key, a refused login, a refused edit): the job failed at once.
          if (job && state === 'failed') throw new NvoError('device-error', deviceMessage(id, job.failedReason), [], { device: id, job: jobId, attempts: job.attemptsMade });
          if (job && job.attemptsMade > attempts && job.failedReason) {
            attempts = job.attemptsMade;
            process.stderr.write(`nvo: ${deviceMessage(id, job.failedReason)} (attempt ${attempts}; retrying)\n`);
          }
          if (Date.now() > until) {
            // The device could not be reached in time: say why in the device's (or SSH's) own words.
            if (job && attempts > 0) {
              throw new NvoError('unavailable', `${deviceMessage(id, job.failedReason)} (not repaired within ${opts.timeout} s after ${attempts} attempt(s); the worker keeps retrying)`, [], { device: id, job: jobId, attempts });
            }
            const what = state === 'active' ? 'the repair is still running' : "no worker took the repair (is a proxy or 'nvo worker' running?)";
            throw new NvoError('timeout', `${id}: not repaired within ${opts.timeout} s: ${what}`, [], { device: id, job: jobId });
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        await p.close();
      }
    });

  group
    .command('diff <id>')
    .description("dry run: the change the next sync would send, in the device's own dialect (nothing is sent)")
    .option('--json', 'the vendor-neutral change instead')
    .action(async (id: string, opts: { json?: boolean }) => {
      const inventory = await ctx.store();
      const device = await inventory.get('device', id);
      if (!device) throw notFound('device', id);
      const { readSnapshot } = await import('../../pipeline/sync-snapshot.ts');
      const { planSync } = await import('../../pipeline/device-sync.ts');
      const snap = await readSnapshot(inventory.redis, inventory.k, id);
      const plan = planSync(snap);
      const change = diffConfig(snap.applied.config, plan.target);
      if (opts.json) return ctx.json({ device: id, from: snap.applied.revision, to: plan.revision, change, refused: [...snap.quarantine.keys()] });
      if (countChange(change) === 0) return ctx.print(`${id}: nothing to send (applied revision ${snap.applied.revision}, desired ${snap.revision})`);
      if (device.driver === 'netconf') {
        const { renderDiff } = await import('../../drivers/netconf/device-ops.ts');
        return ctx.print(renderDiff(device, snap.applied.config, plan.target));
      }
      ctx.json(change);
    });

  group
    .command('status [id]')
    .description('desired and applied revision, sync state, last error and last commit of each device')
    .option('--json', 'machine-readable')
    .action(async (id: string | undefined, opts: { json?: boolean }) => {
      const inventory = await ctx.store();
      const { DeviceStateStore } = await import('../../store/device-state.ts');
      const states = new DeviceStateStore(inventory.redis, inventory.k);
      // One device: it must be in the inventory or have state (a deleted device's leftovers are listed).
      if (id && !(await inventory.get('device', id)) && !(await inventory.redis.sismember(inventory.k.deviceIndex, id))) throw notFound('device', id);
      const ids = id ? [id] : [...new Set([...(await inventory.list('device')).map((d) => d.id), ...(await states.devices())])].sort();
      const rows = [];
      for (const d of ids) {
        const s = await states.status(d);
        const refused = await inventory.redis.hkeys(inventory.k.syncQuarantine(d));
        rows.push({ ...s, refused });
      }
      if (opts.json) return ctx.json(rows);
      ctx.table(rows, [
        { header: 'DEVICE', value: (r) => r.device },
        { header: 'DESIRED', value: (r) => String(r.desiredRevision) },
        { header: 'APPLIED', value: (r) => String(r.appliedRevision) },
        { header: 'STATE', value: (r) => r.syncState },
        { header: 'COMMITS', value: (r) => String(r.commits) },
        { header: 'LAST COMMIT', value: (r) => r.lastCommitAt ?? '-' },
        { header: 'REFUSED', value: (r) => r.refused.join(',') || '-' },
        { header: 'LAST ERROR', value: (r) => r.lastError?.message ?? '-' },
      ]);
    });
}

/** `id: reason`, once (the worker's reasons already start with the device id). */
function deviceMessage(id: string, reason: string | undefined): string {
  const r = reason ?? 'failed without a reason';
  return r.startsWith(`${id}: `) ? r : `${id}: ${r}`;
}
