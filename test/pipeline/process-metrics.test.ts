// Each process serves its own Prometheus figures (issue 6): prom-client keeps one registry per process,
// so the INVITE latency and the sync figures can only be scraped from the process that records them.
// `nvo network-proxy` (BullMQ pipeline, one worker inside, `metrics: {port}`) and `nvo worker
// --metrics-port` run as real OS processes; the devices are netsim NETCONF devices (SSH on loopback)
// in this process; the INVITE goes hNVE client → tenant proxy (in this process) → the network proxy
// process. The scraped text is parsed by the official Prometheus Python client (Debian
// python3-prometheus-client) as an independent reader.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { testFleet } from '../netsim/support.ts';
import { startTenantProxy } from '../proxy/harness.ts';
import { ProxyProcesses, type ProxyProcess } from '../proxy/multi-process-helpers.ts';
import { NVO_BIN } from '../support/nvo-cli.ts';
import { sample, scrape } from '../support/prometheus.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

const NP_SECRET = 'np1-shared-secret-for-metrics';
const NVE_SECRET = 'secret-of-h1-0123456789';
const DEVICES = ['tor1', 'wan1', 'tgw1'];

const one = sample;

let t: TestRedis;
let fleet: Fleet;
let inventory: InventoryStore;
let procs: ProxyProcesses;
let np: ProxyProcess;
let npMetrics: string;
let inviteStatus = 0;
const workers: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];

/** `nvo worker --metrics-port 0 …` on the test's prefix; resolves with its metrics URL from its stderr line. */
async function startWorker(extra: string[] = []): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [NVO_BIN, 'worker', '--check-interval', '0', ...extra], { env: { ...process.env, NVO_PREFIX: t.prefix }, stdio: ['ignore', 'ignore', 'pipe'] });
  workers.push(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nvo worker did not start within 60 s: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /running, metrics at (http:\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`nvo worker exited with ${code}: ${stderr}`));
    });
  });
  return { child, url, exited };
}

beforeAll(async () => {
  t = await testRedis();
  fleet = await testFleet({ devices: 3 });
  const mgmt = (i: number) => {
    const port = fleet.ports[i]!;
    return { host: fleet.host, port, username: fleet.username, password: fleet.password, hostKey: fleet.hostKey(port), hostKeyCheck: 'pinned' as const };
  };
  inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply({
    tenants: [{ cid: 'acme', name: 'Acme', subnet: '192.0.2.0/25', gateway: '192.0.2.1' }],
    devices: [
      { id: 'tor1', role: 'tor', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(0), vtep: '203.0.113.11' },
      { id: 'wan1', role: 'wan-gw', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(1), vtep: '203.0.113.1', vlanRanges: ['100-1999'] },
      { id: 'tgw1', role: 'tor-gw', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(2), vtep: '203.0.113.2', vlanRanges: ['1000-2999'] },
    ],
    pods: [{ id: 'pod1', tors: ['tor1'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'gateway' }],
    vnis: [{ cid: 'acme', vni: 5001, vrf: { name: 'acme', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] } }],
  });
  await new NveStore(t.redis, t.k, inventory).put({ id: 'h1', pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan'], secret: NVE_SECRET });

  procs = new ProxyProcesses(t.prefix);
  np = await procs.start('network-proxy', procs.config('np1', { id: 'np1', listen: { port: 0 }, secret: NP_SECRET, sync: { mode: 'bullmq', workers: 1 }, deadlineSeconds: 60, metrics: { port: 0 } }));
  npMetrics = np.logs.find((l) => l.event === 'listening')!.metrics as string;

  const tp = await startTenantProxy(t, inventory, [{ id: 'np1', url: `ws://127.0.0.1:${np.port}`, secret: NP_SECRET, pods: ['*'] }], { branchTimeoutMs: 90_000 });
  closers.push(() => tp.close());
  const client = await MessagingClient.connect({ url: tp.url, nve: 'h1', secret: NVE_SECRET, proxy: 'tp1', timeoutMs: 90_000 });
  closers.push(() => client.close());
  expect((await client.register(3600)).status).toBe(200);
  inviteStatus = (await client.invite({ mac: '02:00:00:00:0e:01' }, 'acme')).status;
}, 180_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await procs?.stopAll();
  await fleet?.stop();
  await inventory?.close();
  await t?.cleanup();
});

describe('each process serves its own /metrics', () => {
  it('nvo network-proxy: the INVITE it answered and the commits its worker made', async () => {
    expect(inviteStatus).toBe(200);
    expect(npMetrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const s = await scrape(npMetrics);
    expect(one(s, 'nvo_invite_duration_seconds_count', { status: '2xx' })).toBe(1);
    expect(one(s, 'nvo_invite_duration_seconds_sum', { status: '2xx' })).toBeGreaterThan(0);
    expect(one(s, 'nvo_invite_duration_seconds_count', { status: '5xx' })).toBeUndefined();
    for (const device of DEVICES) expect(one(s, 'nvo_device_commits_total', { device })).toBeGreaterThan(0);
    expect(one(s, 'nvo_device_sync_duration_seconds_count', { device: 'tor1', outcome: 'ok' })).toBeGreaterThan(0);
    // Queue depth is read from Redis at scrape time: the same global figure from every process.
    expect(one(s, 'nvo_queue_jobs', { queue: 'device-sync', state: 'completed' })).toBeGreaterThan(0);
    // Nothing but /metrics is served there.
    expect((await fetch(npMetrics.replace(/\/metrics$/, '/queues'))).status).toBe(404);
  });

  it('nvo worker --metrics-port: the job durations of the syncs it ran, and nothing of the INVITEs', async () => {
    // The network proxy stops, so the repair below can only be run by the worker process.
    np.child.kill('SIGTERM');
    expect(await np.exited).toBe(0);
    const w = await startWorker(['--metrics-port', '0']);
    expect(w.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape(w.url);
    expect(one(before, 'nvo_device_sync_duration_seconds_count', { device: 'tor1' })).toBeUndefined();

    const r = await procs.run(['device', 'sync', 'tor1', '--json', '--timeout', '90']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await scrape(w.url);
    expect(one(after, 'nvo_device_sync_duration_seconds_count', { device: 'tor1', outcome: 'ok' })).toBe(1);
    expect(one(after, 'nvo_device_sync_duration_seconds_sum', { device: 'tor1', outcome: 'ok' })).toBeGreaterThan(0);
    // The INVITE was answered by another process: its latency is not here.
    expect(one(after, 'nvo_invite_duration_seconds_count', { status: '2xx' })).toBeUndefined();
    expect(one(after, 'nvo_queue_jobs', { queue: 'device-sync', state: 'completed' })).toBeGreaterThan(0);

    // A second worker asking for the same port is refused before it takes any job.
    const port = new URL(w.url).port;
    const clash = await procs.run(['worker', '--metrics-port', port]);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain(`metrics: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);

    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  }, 120_000);

  it('refuses a metrics section it cannot use, naming the field', async () => {
    const file = procs.config('bad-metrics', { id: 'np2', listen: { port: 0 }, secret: NP_SECRET, metrics: { port: 70000, path: '/x' } });
    const r = await procs.run(['network-proxy', '--config', file, '--check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-metrics\.json:\d+: invalid network proxy configuration: metrics\.path: unknown field$/m);
    expect(r.stderr).toMatch(/^ {2}metrics\.port: at most 65535$/m);
  });
});
