// Where provisioning's CPU goes: the bench stack (netsim, network proxy, tenant proxy, agents in
// this process, Redis) under the same closed-loop INVITE load as `npm run bench`, and for each
// process the CPU milliseconds it spent per VM (utime+stime from /proc), the machine's busy share,
// and Redis commands and bytes per VM. `npm run bench:cpu`; sizes: BENCH_VMS, BENCH_AGENTS,
// BENCH_IN_FLIGHT, BENCH_COMMIT_MS, BENCH_WORKERS, BENCH_WORKER_PROCESSES; BENCH_CPU_PROF=DIR for V8
// profiles; BENCH_REDIS_KEYS=1 for Redis memory per VM by key pattern.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { inviteVms } from './suite/load.ts';
import { keySizes, startStack } from './suite/stack.ts';

const VMS = Number(process.env.BENCH_VMS ?? 3000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 500);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? AGENTS);
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

function cpuMs(pid: number): number {
  // /proc/PID/stat: fields after the command name; utime and stime are the 14th and 15th fields.
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

/** The whole machine's busy and idle jiffies (first line of /proc/stat). */
function machineTicks(): { busy: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  return { busy: f.reduce((a, b) => a + b, 0) - idle, idle };
}

/** The pid of the Redis the stack talks to (INFO server), not whichever redis-server pgrep finds first. */
async function redisPid(redis: Redis): Promise<number | undefined> {
  const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Calls per command since Redis started (INFO commandstats): the whole server, so run nothing else. */
async function redisCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const stats = await redis.info('stats');
  const net = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(stats)?.[1] ?? NaN);
  return new Map([...[...info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])] as const), ['bytes in', net('total_net_input_bytes')], ['bytes out', net('total_net_output_bytes')]]);
}

/** MEMORY USAGE of every key under the prefix, summed by pattern (ids and numbers masked), per VM. */
async function bytesByPattern(redis: Redis, prefix: string, vms: number): Promise<string> {
  const by = new Map<string, { bytes: number; keys: number }>();
  for await (const { key, bytes } of keySizes(redis, prefix)) {
    const pattern = key.slice(prefix.length).replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'UUID').replace(/\d+/g, 'N');
    const e = by.get(pattern) ?? { bytes: 0, keys: 0 };
    e.bytes += bytes;
    e.keys++;
    by.set(pattern, e);
  }
  return [...by]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, 15)
    .map(([k, e]) => `  ${(e.bytes / vms).toFixed(0).padStart(6)} B/VM  ${String(e.keys).padStart(6)} keys  ${k}`)
    .join('\n');
}

const s = await startStack({ agents: AGENTS, processes: 1, commitDelayMs: Number(process.env.BENCH_COMMIT_MS ?? 200), workers: Number(process.env.BENCH_WORKERS ?? 1), workerProcesses: Number(process.env.BENCH_WORKER_PROCESSES ?? 0), basePort: 30_000 + Math.floor(Math.random() * 10_000) });
try {
  const redis = await redisPid(s.inventory.redis);
  const procs = [...s.pids, { role: 'bench (agents)', pid: process.pid }, ...(redis ? [{ role: 'redis', pid: redis }] : [])];
  // warm-up: a tenth of the VMs, outside the figures
  await inviteVms(s, Math.floor(VMS / 10), { salt: 1, inFlight: IN_FLIGHT });
  const before = procs.map((p) => cpuMs(p.pid));
  const m0 = machineTicks();
  const calls0 = await redisCalls(s.inventory.redis);
  const r = await inviteVms(s, VMS, { salt: 2, inFlight: IN_FLIGHT });
  const used = procs.map((p, i) => cpuMs(p.pid) - before[i]!);
  const m1 = machineTicks();
  const calls1 = await redisCalls(s.inventory.redis);
  console.log(`${r.vms} VMs in ${r.seconds.toFixed(1)} s = ${r.vmsPerSecond.toFixed(0)} VMs/s, p50 ${r.p50ms.toFixed(0)} ms, p99 ${r.p99ms.toFixed(0)} ms (INVITE→183 queued p50 ${r.queuedP50ms.toFixed(0)} ms, p99 ${r.queuedP99ms.toFixed(0)} ms), failed ${r.failed}${r.firstFailure ? ` (${r.firstFailure})` : ""}`);
  const wall = r.seconds * 1000;
  for (const [i, p] of procs.entries()) console.log(`${p.role.padEnd(16)} ${(used[i]! / r.vms).toFixed(2).padStart(6)} ms/VM  ${((100 * used[i]!) / wall).toFixed(0).padStart(4)} % of a core`);
  const total = used.reduce((a, b) => a + b, 0);
  console.log(`${'total'.padEnd(16)} ${(total / r.vms).toFixed(2).padStart(6)} ms/VM  ${((100 * total) / wall).toFixed(0).padStart(4)} % of a core`);
  const busy = ((m1.busy - m0.busy) * 1000) / TICK;
  console.log(`${'machine'.padEnd(16)} ${(busy / r.vms).toFixed(2).padStart(6)} ms/VM  ${((100 * busy) / wall).toFixed(0).padStart(4)} % of a core (every process and the kernel; ${((100 * (m1.busy - m0.busy)) / (m1.busy - m0.busy + m1.idle - m0.idle)).toFixed(0)}% busy)`);
  const bytes = (name: string) => ((calls1.get(name) ?? 0) - (calls0.get(name) ?? 0)) / r.vms;
  console.log(`Redis network per VM: ${(bytes('bytes in') / 1024).toFixed(1)} KiB in, ${(bytes('bytes out') / 1024).toFixed(1)} KiB out`);
  for (const b of ['bytes in', 'bytes out']) [calls0, calls1].forEach((m) => m.delete(b));
  const perVm = [...calls1].map(([cmd, n]) => [cmd, (n - (calls0.get(cmd) ?? 0)) / r.vms] as const).filter(([, n]) => n >= 0.05).sort((a, b) => b[1] - a[1]);
  console.log(`Redis commands per VM: ${perVm.reduce((a, [, n]) => a + n, 0).toFixed(1)} (${perVm.map(([c, n]) => `${c} ${n.toFixed(1)}`).join(', ')})`);
  if (process.env.BENCH_REDIS_KEYS) console.log(`Redis bytes by key pattern:\n${await bytesByPattern(s.inventory.redis, s.prefix, r.vms)}`);
} finally {
  await s.close();
}
