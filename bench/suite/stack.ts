// The provisioning stack of `npm run bench`, all real and all separate processes except the agents:
// a netsim fleet (`nvo netsim start`), network proxies (`nvo network-proxy`, BullMQ pipeline and
// NETCONF workers inside) and tenant proxies (`nvo tenant-proxy`) on one Redis under a key prefix
// of their own, an inventory of PODS pods (TORS ToRs, one WAN and one ToR gateway each) and AGENTS
// provisioned hNVEs. The hNVE agents are MessagingClients in the bench's own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';

const NVO = join(import.meta.dirname, '../../bin/nvo.js');

export const PODS = 5;
export const TORS = 2;
export const TENANTS = 200;

export interface StackOptions {
  agents: number;
  /** Pairs of (tenant proxy, network proxy) processes; with 2, each network proxy serves half the pods. */
  processes: 1 | 2;
  /** netsim devices, or null for the network proxies' in-memory sync (no devices). */
  commitDelayMs: number | null;
  coalesce?: boolean;
  workers?: number;
  /** Sync workers as processes of their own (`nvo worker`) instead of inside the network proxies. */
  workerProcesses?: number;
  basePort: number;
}

export interface Stack {
  prefix: string;
  agents: MessagingClient[];
  /** The child processes: netsim, network proxies, tenant proxies. */
  /** inspector: the proxies' V8 inspector (heap.ts reads their memory after a full GC through it). */
  pids: { role: string; pid: number; inspector?: string }[];
  inventory: InventoryStore;
  close(): Promise<void>;
}

/** hNVE VTEPs and device VTEPs, documentation addresses only (RFC 5737). */
function hnveVtep(i: number): string {
  return i < 250 ? `192.0.2.${i + 2}` : `198.51.100.${i - 250 + 2}`;
}

export const podOf = (agent: number) => agent % PODS;
/** Each agent hosts VMs of one tenant of its pod; a tenant's VMs sit on TENANTS/(agents/PODS) agents. */
export const tenantOf = (agent: number) => `t${String(podOf(agent) + PODS * (Math.floor(agent / PODS) % (TENANTS / PODS))).padStart(3, '0')}`;

function inventoryDoc(o: StackOptions, basePort: number) {
  const devices: Record<string, unknown>[] = [];
  const pods: Record<string, unknown>[] = [];
  let n = 0;
  const dev = (id: string, role: string, extra: Record<string, unknown> = {}) => {
    const port = basePort + n;
    const vtep = `203.0.113.${10 + n++}`;
    // With the in-memory sync (commitDelayMs null) no device is ever contacted.
    devices.push({ id, role, driver: 'netconf', dialect: 'nvo3-lab', management: { host: '127.0.0.1', port, username: 'admin', password: 'admin', hostKeyCheck: 'off' }, vtep, ...extra });
  };
  for (let p = 0; p < PODS; p++) {
    const tors = Array.from({ length: TORS }, (_, j) => `p${p}tor${j}`);
    for (const t of tors) dev(t, 'tor');
    dev(`p${p}wan`, 'wan-gw', { vlanRanges: ['1-4000'] });
    dev(`p${p}tgw`, 'tor-gw', { vlanRanges: ['1-4000'] });
    pods.push({ id: `pod${p}`, vlanRanges: ['1-4000'], tors, wanGateway: `p${p}wan`, torGateway: `p${p}tgw`, routing: 'tor' });
  }
  const tenants = Array.from({ length: TENANTS }, (_, c) => ({
    cid: `t${String(c).padStart(3, '0')}`,
    name: `Tenant ${c}`,
    subnet: '192.0.2.0/24',
    gateway: '192.0.2.1',
    encapsulations: ['vxlan'],
  }));
  const vnis = tenants.map((t, c) => ({ cid: t.cid, vrf: { name: t.cid, rd: `65000:${c + 1}`, importTargets: [`65000:${c + 1}`], exportTargets: [`65000:${c + 1}`] } }));
  return { settings: { vniPool: ['10000-19999'] }, tenants, devices, pods, vnis };
}

// Children die with the bench (Ctrl-C, a thrown error): none is left listening or holding CPU.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

/** A port free right now (the proxies log at warn, so they do not say where they listen). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Spawns `nvo <args>` and resolves once it is ready: it accepts connections on `port`, or (a worker
 *  listens on none) its stderr says `log`. */
async function startNvo(args: string[], env: NodeJS.ProcessEnv, ready: { port: number } | { log: RegExp }): Promise<ChildProcess> {
  // BENCH_CPU_PROF=DIR: each process writes a V8 CPU profile there when it stops (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const inspect = args[0] === 'netsim' ? [] : ['--inspect=127.0.0.1:0'];
  const child = spawn(process.execPath, [...prof, ...inspect, NVO, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-2000);
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(err)?.[1];
    if (url && !inspectors.has(child)) inspectors.set(child, url);
  });
  const isReady = () => ('port' in ready ? accepting(ready.port) : ready.log.test(err));
  const deadline = Date.now() + 60_000;
  while (!(await isReady())) {
    if (child.exitCode !== null) throw new Error(`nvo ${args.join(' ')} exited ${child.exitCode}: ${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nvo ${args.join(' ')} was not ready within 60 s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

const inspectors = new WeakMap<ChildProcess, string>();

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise<void>((res) => c.once('exit', () => res()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const prefix = `bench-${randomUUID().slice(0, 8)}:`;
  const dir = mkdtempSync(join(tmpdir(), 'nvo-bench-'));
  const env = { ...process.env, NVO_PREFIX: prefix, NVO_LOG_LEVEL: 'warn', NVO_SYNC_COALESCE: o.coalesce === false ? '0' : '1', NVO_CHECK_SYNC_INTERVAL_MS: '0' };
  const children: ChildProcess[] = [];
  const agents: MessagingClient[] = [];
  const devices = PODS * (TORS + 2);
  const inventory = InventoryStore.open({ prefix, name: 'nvo-bench' });
  const close = async () => {
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
    await Promise.all(children.map(stopChild));
    await dropPrefix(inventory, prefix);
    await inventory.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (o.commitDelayMs !== null) {
      // `netsim run` in the foreground, a child like the proxies (so BENCH_CPU_PROF profiles it too).
      const last = o.basePort + devices - 1;
      children.push(await startNvo(['netsim', 'run', '--devices', String(devices), '--base-port', String(o.basePort), '--commit-delay', String(o.commitDelayMs), '--state-dir', dir], env, { port: last }));
    }
    await inventory.apply(inventoryDoc(o, o.basePort));
    const nves = new NveStore(inventory.redis, inventory.k, inventory);
    for (let i = 0; i < o.agents; i++) await nves.put({ id: `h${i}`, pod: `pod${podOf(i)}`, vtep: hnveVtep(i), encapsulations: ['vxlan'], secret: `bench-secret-h${i}-0123456789` });

    const nps: { id: string; url: string; secret: string; pods: string[] }[] = [];
    for (let p = 0; p < o.processes; p++) {
      const id = `np${p + 1}`;
      const secret = `${id}-bench-secret-0123456789`;
      const pods = Array.from({ length: PODS }, (_, i) => i).filter((i) => o.processes === 1 || i % o.processes === p);
      const devs = pods.flatMap((i) => [...Array.from({ length: TORS }, (_, j) => `p${i}tor${j}`), `p${i}wan`, `p${i}tgw`]);
      const cfg = {
        id,
        listen: { host: '127.0.0.1', port: await freePort() },
        secret,
        ...(o.processes > 1 ? { devices: devs } : {}),
        sync: o.commitDelayMs === null ? { mode: 'memory' } : { mode: 'bullmq', workers: o.workerProcesses ? 0 : (o.workers ?? 1), concurrency: 32 },
        deadlineSeconds: 300,
      };
      const file = join(dir, `${id}.json`);
      writeFileSync(file, JSON.stringify(cfg));
      children.push(await startNvo(['network-proxy', '--config', file], env, { port: cfg.listen.port }));
      const port = cfg.listen.port;
      nps.push({ id, url: `ws://127.0.0.1:${port}`, secret, pods: pods.map((i) => `pod${i}`) });
    }
    for (let w = 0; w < (o.workerProcesses ?? 0); w++) children.push(await startNvo(['worker', '--concurrency', '32', '--check-interval', '0'], env, { log: /sync worker \d+ running/ }));
    const tpUrls: string[] = [];
    for (let p = 0; p < o.processes; p++) {
      const file = join(dir, `tp${p + 1}.json`);
      const port = await freePort();
      writeFileSync(file, JSON.stringify({ id: 'tp1', listen: { host: '127.0.0.1', port }, networkProxies: nps, branchTimeoutSeconds: 300, graceSeconds: 600, expires: { min: 5, max: 86400, default: 3600 } }));
      children.push(await startNvo(['tenant-proxy', '--config', file], env, { port }));
      tpUrls.push(`ws://127.0.0.1:${port}`);
    }
    for (let i = 0; i < o.agents; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, o.agents - i) }, (_, j) =>
          MessagingClient.connect({ url: tpUrls[(i + j) % tpUrls.length]!, nve: `h${i + j}`, secret: `bench-secret-h${i + j}-0123456789`, proxy: 'tp1', timeoutMs: 300_000, onNotify: () => undefined }),
        ),
      );
      agents.push(...batch);
      await Promise.all(batch.map(async (a) => {
        const r = await a.register(3600);
        if (r.status !== 200) throw new Error(`REGISTER: ${r.status} ${r.reason}`);
      }));
    }
    const many = (n: number, role: string) => Array.from({ length: n }, () => role);
    const roles = [...(o.commitDelayMs !== null ? ['netsim'] : []), ...many(o.processes, 'network-proxy'), ...many(o.workerProcesses ?? 0, 'worker'), ...many(o.processes, 'tenant-proxy')];
    return { prefix, agents, pids: children.map((c, i) => ({ role: roles[i]!, pid: c.pid!, inspector: inspectors.get(c) })), inventory, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The keys under the prefix, a SCAN batch at a time. */
async function* scanKeys(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (batch.length) yield batch;
  } while (cursor !== '0');
}

async function dropPrefix(store: InventoryStore, prefix: string): Promise<void> {
  for await (const batch of scanKeys(store.redis, prefix)) await store.redis.unlink(...batch);
}

/** Every key under the prefix with the bytes Redis holds for it (MEMORY USAGE, sampled fully) and
 *  its TTL in ms (-1: none). */
export async function* keySizes(redis: Redis, prefix: string): AsyncGenerator<{ key: string; bytes: number; ttlMs: number }> {
  for await (const batch of scanKeys(redis, prefix)) {
    const p = redis.pipeline();
    for (const key of batch) p.call('MEMORY', 'USAGE', key, 'SAMPLES', '0').pttl(key);
    const res = (await p.exec()) ?? [];
    for (const [i, key] of batch.entries()) yield { key, bytes: Number(res[2 * i]?.[1] ?? 0), ttlMs: Number(res[2 * i + 1]?.[1] ?? -1) };
  }
}

/** Bytes Redis holds under the prefix, and the key count; `expiring`: the part in keys with a TTL (the
 *  messaging layer's transaction records, kept 5 minutes for retransmissions), which a run's rate
 *  decides, not the number of VMs. */
export async function redisBytes(store: InventoryStore, prefix: string): Promise<{ bytes: number; keys: number; expiring: { bytes: number; keys: number } }> {
  const all = { bytes: 0, keys: 0, expiring: { bytes: 0, keys: 0 } };
  for await (const k of keySizes(store.redis, prefix)) {
    all.bytes += k.bytes;
    all.keys++;
    if (k.ttlMs > 0) {
      all.expiring.bytes += k.bytes;
      all.expiring.keys++;
    }
  }
  return all;
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
