// bench:pipeline — what coalescing buys: sustained changes per second and request→applied latency
// (p50/p99) against NETCONF devices whose commit takes 200 ms, with the pipeline as it runs
// (coalesced) and with one commit per change (the baseline), in the same run.
//
// Devices: netsim (src/netsim: NETCONF over SSH, nvo3-lab YANG, a commit delay) in this process.
// Load: a closed loop of `--sessions` concurrent sessions; each writes its contribution (one MAC in
// a shared VNI, like a VM's INVITE), asks for the sync and waits until the device has it, then starts
// the next. Real Redis, real BullMQ, the NETCONF driver; only the devices are simulated.
//
//   npm run bench:pipeline -- [--devices 4] [--commit-ms 200] [--sessions 200] [--seconds 15] [--concurrency 16]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { deviceSchema, type Device } from '../src/model/device.ts';
import { emptyConfig, type DeviceConfig } from '../src/model/device-config.ts';
import { Fleet } from '../src/netsim/fleet.ts';
import { commits as commitMetric } from '../src/pipeline/metrics.ts';
import { DriverRegistry } from '../src/pipeline/driver-registry.ts';
import { netconfDriver } from '../src/pipeline/netconf-adapter.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { keys } from '../src/store/keys.ts';
import { connectRedis } from '../src/store/redis.ts';

const { values: a } = parseArgs({
  options: {
    devices: { type: 'string', default: '4' },
    'commit-ms': { type: 'string', default: '200' },
    sessions: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '16' },
    'base-port': { type: 'string', default: String(20000 + Math.floor(Math.random() * 20000)) },
  },
});
const N = Number(a.devices);
const COMMIT_MS = Number(a['commit-ms']);
const SESSIONS = Number(a.sessions);
const SECONDS = Number(a.seconds);

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const base = (vni: number): DeviceConfig => ({ ...emptyConfig(), vlans: [{ id: 10, name: 'bench' }], vnis: [{ vni, vlan: 10, encapsulation: 'vxlan' }] });
const vm = (vni: number, n: number): DeviceConfig => ({
  ...emptyConfig(),
  macs: [{ vni, mac: `02:${[(n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255, 1].map((x) => x.toString(16).padStart(2, '0')).join(':')}`, vtep: '198.51.100.7' }],
});

async function run(mode: 'coalesced' | 'per-change', devices: Device[], vni: number) {
  const redis = connectRedis(undefined, { name: 'nvo-bench', maxRetriesPerRequest: null });
  const prefix = `bench-${randomUUID()}:`;
  const k = keys(prefix);
  const inventory = new Map(devices.map((d) => [d.id, d]));
  const pipeline = new Pipeline({
    redis,
    k,
    drivers: new DriverRegistry().register('netconf', netconfDriver({ confirmTimeoutS: 120 })),
    lookup: async (id) => inventory.get(id) ?? null,
    log: pino({ level: 'warn' }),
    concurrency: Number(a.concurrency),
    coalesce: mode === 'coalesced',
  }).start();
  const commitsBefore = (await commitMetric.get()).values.reduce((s, v) => s + v.value, 0);
  // The VNI every VM's MAC lives in, on every device, before the clock starts.
  for (const d of devices) {
    const revision = await pipeline.store.setContribution(d.id, 'base', base(vni));
    await pipeline.port.request([{ device: d.id, revision }], { sessionId: 'base' });
    await pipeline.port.waitApplied([{ device: d.id, revision }], { deadlineMs: 60_000, sessionId: 'base' });
  }
  const latencies: number[] = [];
  let failed = 0;
  let n = 0;
  let done = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  const session = async () => {
    while (performance.now() < until) {
      const i = n++;
      const device = devices[i % devices.length]!;
      const owner = `vm${i}`;
      const start = performance.now();
      try {
        const revision = await pipeline.store.setContribution(device.id, owner, vm(vni, i));
        await pipeline.port.request([{ device: device.id, revision }], { sessionId: owner });
        await pipeline.port.waitApplied([{ device: device.id, revision }], { deadlineMs: 120_000, sessionId: owner });
        done++;
        if (performance.now() <= until) latencies.push(performance.now() - start);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: SESSIONS }, session));
  const commits = (await commitMetric.get()).values.reduce((s, v) => s + v.value, 0) - commitsBefore - devices.length;
  latencies.sort((x, y) => x - y);
  const result = {
    mode,
    changesPerSecond: latencies.length / SECONDS,
    p50ms: pct(latencies, 50),
    p99ms: pct(latencies, 99),
    changes: latencies.length,
    commits,
    changesPerCommit: commits ? done / commits : NaN,
    failed,
  };
  await pipeline.close();
  // Leave nothing behind in Redis; the fleet is stopped by the caller.
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length) await redis.del(...batch);
  } while (cursor !== '0');
  redis.disconnect();
  return result;
}

async function main() {
  const basePort = Number(a['base-port']);
  console.log(`bench:pipeline — ${N} netsim NETCONF devices, commit ${COMMIT_MS} ms, ${SESSIONS} concurrent sessions, ${SECONDS} s per mode`);
  const results = [];
  for (const [i, mode] of (['coalesced', 'per-change'] as const).entries()) {
    // A fresh fleet per mode, so both start from empty devices.
    const fleet = await Fleet.start({ devices: N, basePort: basePort + i * N, commitDelayMs: COMMIT_MS });
    try {
      const devices = fleet.ports.map((port, j) =>
        deviceSchema.parse({
          id: `bench${j + 1}`,
          role: 'tor',
          driver: 'netconf',
          dialect: 'nvo3-lab',
          vtep: `192.0.2.${100 + j}`,
          management: { host: fleet.host, port, username: fleet.username, password: fleet.password, hostKey: fleet.hostKey(port), hostKeyCheck: 'pinned' },
        }),
      );
      results.push(await run(mode, devices, 7000 + i));
    } finally {
      await fleet.stop();
    }
  }
  console.table(
    results.map((r) => ({
      mode: r.mode,
      'changes/s': r.changesPerSecond.toFixed(1),
      'p50 ms': r.p50ms.toFixed(0),
      'p99 ms': r.p99ms.toFixed(0),
      changes: r.changes,
      commits: r.commits,
      'changes/commit': r.changesPerCommit.toFixed(1),
      failed: r.failed,
    })),
  );
  const [c, p] = results as [(typeof results)[0], (typeof results)[0]];
  console.log(`coalescing: ${(c.changesPerSecond / p.changesPerSecond).toFixed(1)}x the per-change rate (goal >= 10x)`);
  process.exit(0);
}

await main();
