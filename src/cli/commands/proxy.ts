// nvo tenant-proxy | network-proxy --config FILE: the proxies as processes of their own. Everything
// that matters is in Redis (REDIS_URL, NVO_PREFIX), so any number of processes of one proxy may run
// side by side and one may be killed at any time. Logs are JSON lines (pino) on stdout; the first
// says `"event":"listening"` with the port. SIGTERM or SIGINT closes connections and exits 0.
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { invalidInput } from '../../model/validate.ts';
import type { InventoryStore } from '../../store/inventory-store.ts';
import type { CliContext } from '../context.ts';
import { readInputFile, type InputFile } from '../input-file.ts';

type Stop = () => Promise<void>;

function processLog(kind: string, id: string): Logger {
  // Not proxyLog(): that one is silent under a test runner, and a spawned proxy must still say where it listens.
  return pino({ name: kind, base: { proxy: id, pid: process.pid }, level: process.env.NVO_LOG_LEVEL || 'info' });
}

async function openStore(name: string): Promise<InventoryStore> {
  const { InventoryStore } = await import('../../store/inventory-store.ts');
  const { dialectIssues } = await import('../../api/dialect-check.ts');
  const store = InventoryStore.open({ name, deviceRules: dialectIssues });
  await store.redis.ping();
  return store;
}

/** The configuration, or the first fault with the file's line (`file:12: invalid …: listen.port: …`). */
function parsed<T>(file: InputFile, parse: (input: unknown, path: string) => T): T {
  try {
    return parse(file.value, file.path);
  } catch (e) {
    return file.annotate(e);
  }
}

/** Resolves at the first SIGTERM/SIGINT. Installed before anything starts: a signal that comes while
 *  the proxy starts (or right after its 'listening' line) must stop it, not kill it outright. */
function signalled(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ event: 'stopping', signal }, 'stopping');
      // A second signal while stopping ends the process at once.
      process.once(signal === 'SIGINT' ? 'SIGTERM' : 'SIGINT', () => process.exit(1));
      process.once(signal, () => process.exit(1));
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

/** Waits for the signal, then stops everything (15 s at most). */
async function stopOnSignal(signal: Promise<NodeJS.Signals>, log: Logger, stop: Stop): Promise<void> {
  await signal;
  const force = setTimeout(() => {
    log.error({ event: 'stop-timeout' }, 'did not stop within 15 s; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  try {
    await stop();
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'stop failed');
  }
  log.info({ event: 'stopped' }, 'stopped');
}

export function registerProxy(program: Command, _ctx: CliContext): void {
  program
    .command('tenant-proxy')
    .description('run a tenant proxy (hNVEs REGISTER/INVITE/BYE here; forks to network proxies) until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'YAML/JSON: id, listen {host, port}, networkProxies [{id, url, secret|secretFile, pods}] (lab/proxies/ has examples)')
    .option('--check', 'check the configuration and the inventory it names, then exit')
    .action(async (opts: { config: string; check?: boolean }) => {
      const { parseTenantProxyConfig } = await import('../../proxy/process-config.ts');
      const file = readInputFile(opts.config);
      const cfg = parsed(file, parseTenantProxyConfig);
      if (opts.check) return void process.stdout.write(`${file.path}: tenant proxy ${cfg.id}, ${cfg.networkProxies.length} network prox${cfg.networkProxies.length > 1 ? 'ies' : 'y'}: OK\n`);
      const log = processLog('tenant-proxy', cfg.id);
      const signal = signalled(log);
      const store = await openStore(`nvo-tenant-proxy-${cfg.id}`);
      const subscriber = store.redis.duplicate({ connectionName: `nvo-tenant-proxy-${cfg.id}-sub` });
      subscriber.on('error', (e: Error) => log.warn({ err: e.message }, 'redis subscriber'));
      // Ready before it subscribes: a SUBSCRIBE sent while ioredis still runs its ready check (INFO)
      // fails that check, the connection is dropped and the subscription can be lost — and with it
      // every NOTIFY other processes publish for this process's NVEs (seen in the multi-process test).
      await subscriber.ping();
      const { TenantProxy } = await import('../../proxy/tenant/tenant-proxy.ts');
      const tp = new TenantProxy({
        id: cfg.id,
        redis: store.redis,
        subscriber,
        k: store.k,
        inventory: store,
        networkProxies: cfg.networkProxies,
        host: cfg.listen.host,
        port: cfg.listen.port,
        maxBytes: cfg.maxMessageBytes,
        branchTimeoutMs: cfg.branchTimeoutSeconds * 1000,
        expires: cfg.expires,
        graceMs: cfg.graceSeconds * 1000,
        log,
      });
      const port = await tp.start();
      log.info({ event: 'listening', host: cfg.listen.host, port, proc: tp.deps.proc, networkProxies: cfg.networkProxies.map((n) => n.id) }, `tenant proxy ${cfg.id} listening on ${cfg.listen.host}:${port}`);
      await stopOnSignal(signal, log, async () => {
        await tp.close();
        subscriber.disconnect();
        await store.close();
      });
    });

  program
    .command('network-proxy')
    .description('run a network proxy (allocates, writes desired device state, syncs devices) until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'YAML/JSON: id, listen {host, port}, secret|secretFile, devices, sync {mode, workers}, deadlineSeconds, metrics {host, port} (lab/proxies/ has examples)')
    .option('--check', 'check the configuration and the inventory it names, then exit')
    .action(async (opts: { config: string; check?: boolean }) => {
      const { parseNetworkProxyConfig } = await import('../../proxy/process-config.ts');
      const file = readInputFile(opts.config);
      const cfg = parsed(file, parseNetworkProxyConfig);
      const store = await openStore(`nvo-network-proxy-${cfg.id}`);
      try {
        // The devices it is responsible for must exist: a typo would silently leave a device unconfigured.
        const missing = [];
        for (const [i, d] of (cfg.devices ?? []).entries()) if (!(await store.getDevice(d))) missing.push({ field: `devices[${i}]`, reason: `no device '${d}' in the inventory` });
        if (missing.length) file.annotate(invalidInput('network proxy configuration', missing));
      } catch (e) {
        await store.close();
        throw e;
      }
      if (opts.check) {
        await store.close();
        return void process.stdout.write(`${file.path}: network proxy ${cfg.id}, ${cfg.devices ? `${cfg.devices.length} device(s)` : 'every device'}, sync ${cfg.sync.mode}: OK\n`);
      }
      const log = processLog('network-proxy', cfg.id);
      const signal = signalled(log);
      const stops: Stop[] = [];
      // Before the rest, so a port that is taken stops the process before it takes any INVITE.
      let metricsUrl: string | undefined;
      if (cfg.metrics) {
        const { listenMetrics } = await import('../../api/metrics-listener.ts');
        const m = await listenMetrics(cfg.metrics);
        metricsUrl = m.url;
        stops.push(() => m.close());
      }
      let sync;
      if (cfg.sync.mode === 'memory') {
        const { MemoryDeviceSync } = await import('../../proxy/network/memory-device-sync.ts');
        const { DeviceStateStore } = await import('../../store/device-state.ts');
        sync = new MemoryDeviceSync(new DeviceStateStore(store.redis, store.k));
      } else {
        const { startPipeline } = await import('../../pipeline/start.ts');
        const run = startPipeline({ inventory: store, workers: cfg.sync.workers, concurrency: cfg.sync.concurrency, log: log.child({ part: 'pipeline' }) });
        sync = run.pipeline.port;
        stops.push(() => run.close());
      }
      const { NetworkProxy } = await import('../../proxy/network/network-proxy.ts');
      const np = new NetworkProxy({
        id: cfg.id,
        secret: cfg.secret,
        redis: store.redis,
        k: store.k,
        inventory: store,
        sync,
        devices: cfg.devices,
        host: cfg.listen.host,
        port: cfg.listen.port,
        syncDeadlineMs: cfg.deadlineSeconds * 1000,
        log,
      });
      const port = await np.listening();
      log.info(
        { event: 'listening', host: cfg.listen.host, port, sync: cfg.sync.mode, workers: cfg.sync.mode === 'bullmq' ? cfg.sync.workers : 0, devices: cfg.devices ?? '*', metrics: metricsUrl },
        `network proxy ${cfg.id} listening on ${cfg.listen.host}:${port}${metricsUrl ? `, metrics at ${metricsUrl}` : ''}`,
      );
      await stopOnSignal(signal, log, async () => {
        await np.close();
        for (const s of stops) await s();
        await store.close();
      });
    });
}
