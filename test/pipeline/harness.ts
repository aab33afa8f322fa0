// A pipeline on the real Redis, with SIMULATED devices (src/pipeline/simulated-device.ts) standing in
// for routers: these tests are about the queue, the lock, coalescing and failure handling; the
// NETCONF and XMPP adapters are tested against real netconfd and Prosody elsewhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import type { DeviceConfig } from '../../src/model/device-config.ts';
import { emptyConfig } from '../../src/model/device-config.ts';
import type { DeviceDriver } from '../../src/pipeline/device-driver.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { Pipeline, type PipelineOptions } from '../../src/pipeline/pipeline.ts';
import { SimulatedDevices, simulatedDevice } from '../../src/pipeline/simulated-device.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

export interface Harness {
  t: TestRedis;
  sim: SimulatedDevices;
  pipeline: Pipeline;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<PipelineOptions> {
  commitMs?: number;
  unknown?: string[];
  /** A device's behaviour on top of the simulator (e.g. one that refuses some changes). */
  driver?: (sim: SimulatedDevices) => DeviceDriver;
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const t = await testRedis();
  const sim = new SimulatedDevices(t.redis, t.prefix, { commitMs: opts.commitMs ?? 0 });
  const driver = opts.driver?.(sim) ?? sim;
  const drivers = new DriverRegistry().register('netconf', driver).register('xmpp', driver);
  const pipeline = new Pipeline({
    redis: t.redis,
    k: t.k,
    drivers,
    lookup: async (id) => (opts.unknown?.includes(id) ? null : simulatedDevice(id)),
    log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
    timing: { lockDurationMs: 4000, stalledIntervalMs: 2000, busyDelayMs: 200 },
    retry: { attempts: 8, baseDelayMs: 50, maxDelayMs: 400 },
    ...opts,
  }).start();
  return {
    t,
    sim,
    pipeline,
    async close() {
      await pipeline.close();
      await t.cleanup();
    },
  };
}

export function vlans(...ids: number[]): DeviceConfig {
  return { ...emptyConfig(), vlans: ids.map((id) => ({ id, name: `v${id}` })) };
}

/** Starts test/pipeline/worker-process.ts with these arguments; resolves once it is ready. */
export async function spawnWorker(args: string[]): Promise<{ child: ChildProcess; lines: string[]; waitFor(line: string, ms?: number): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/pipeline/worker-process.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.line === line)) w.resolve();
    }
  });
  const waitFor = (line: string, ms = 60_000) =>
    new Promise<void>((resolve, reject) => {
      if (lines.includes(line)) return resolve();
      const timer = setTimeout(() => reject(new Error(`worker did not say '${line}' within ${ms} ms`)), ms);
      waiters.push({ line, resolve: () => (clearTimeout(timer), resolve()) });
      child.once('exit', (code) => reject(new Error(`worker exited with ${code} before '${line}'`)));
    });
  await waitFor('ready');
  return { child, lines, waitFor };
}
