// INFO fan-out: how long a MAC added (or deleted) on one hNVE takes to reach every other member of
// the VNI, through the real tenant and network proxies (WebSockets, Redis pub/sub, in-memory device
// sync), for 100 and 500 members. Two figures per member, side by side:
// - received: INFO sent → the NOTIFY read off that member's connection (the proxies' fan-out);
// - applied: INFO sent → that member's agent applied it to its table and recorder data plane.
// The N-1 receiving agents run in PROCS child processes (bench/suite/fanout-agents.ts), so a member's
// receipt is not queued behind the table work of hundreds of agents in one event loop; the machine's
// cores are still shared by all of them, which the "applied" figure includes.
// Per size: ROUNDS INFOs one after another; "member" figures are over all members of all rounds,
// "all applied" is INFO sent → the last member applied it (one per round).
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { seedFleet } from '../test/agent/hnve/fleet.ts';
import type { ChildMessage, ParentMessage } from './suite/fanout-agents.ts';
import { pct } from './suite/load.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const SIZES = (process.env.BENCH_SIZES ?? '100,500').split(',').map(Number);
const PROCS = Number(process.env.BENCH_FANOUT_PROCS ?? 4);
const here = dirname(fileURLToPath(import.meta.url));
const now = () => performance.timeOrigin + performance.now();


class Child {
  private waiting: { type: ChildMessage['type']; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }[] = [];
  private exited = false;
  constructor(readonly p: ChildProcess) {
    p.on('message', (m: ChildMessage) => {
      if (m.type === 'error') return this.fail(new Error(`fan-out agent process: ${m.message}`));
      const i = this.waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m);
    });
    p.on('exit', (code) => {
      this.exited = true;
      this.fail(new Error(`fan-out agent process exited (${code})`));
    });
  }
  private fail(e: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(e);
  }
  next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    if (this.exited) return Promise.reject(new Error('fan-out agent process has exited'));
    return new Promise((resolve, reject) => this.waiting.push({ type, resolve: resolve as (m: ChildMessage) => void, reject }));
  }
  send(m: ParentMessage): void {
    this.p.send(m);
  }
}

async function measure(n: number): Promise<void> {
  // The other members' sessions and memberships are written as an INVITE would leave them (N INVITEs
  // would fan out N²/2 NOTIFYs just to set up); their agents then REGISTER and learn the VNI for real.
  const { s, h1, callId, members: all } = await seedFleet(n);
  const children: Child[] = [];
  try {

    for (let c = 0; c < PROCS; c++) {
      const share = all.filter((_, i) => i % PROCS === c);
      if (share.length === 0) continue;
      const child = new Child(fork(join(here, 'suite', 'fanout-agents.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      children.push(child);
      const ready = child.next('ready');
      child.send({ type: 'start', url: s.url, members: share });
      await ready;
    }

    const received: number[] = [];
    const applied: number[] = [];
    const allApplied: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const target = h1.tables.get('acme')!.revision + 1;
      const armed = children.map((c) => c.next('armed'));
      const reports = children.map((c) => c.next('round'));
      for (const c of children) c.send({ type: 'round', round, cid: 'acme', target });
      await Promise.all(armed);
      const mac = '02:00:00:00:01:99';
      const t0 = now();
      const res = await h1.info(callId, round % 2 === 0 ? { add: [mac] } : { delete: [mac] });
      if (res.status !== 200) throw new Error(`INFO: ${res.status} ${res.reason}`);
      let last = 0;
      for (const rep of await Promise.all(reports)) {
        if (rep.received.some((t) => !Number.isFinite(t))) throw new Error(`round ${round}: an agent applied revision ${target} without its NOTIFY being seen`);
        received.push(...rep.received.map((t) => t - t0));
        applied.push(...rep.applied.map((t) => t - t0));
        last = Math.max(last, ...rep.applied.map((t) => t - t0));
      }
      allApplied.push(last);
    }
    const f1 = (x: number) => x.toFixed(1);
    console.log(
      `${n} members, ${ROUNDS} INFOs, agents in ${children.length} processes: INFO → member received p50 ${f1(pct(received, 50))} ms, p99 ${f1(pct(received, 99))} ms; ` +
        `INFO → member applied p50 ${f1(pct(applied, 50))} ms, p99 ${f1(pct(applied, 99))} ms; ` +
        `INFO → all ${n - 1} others applied p50 ${f1(pct(allApplied, 50))} ms, p99 ${f1(pct(allApplied, 99))} ms`,
    );
  } finally {
    await Promise.allSettled(
      children.map((c) => {
        const stopped = c.next('stopped');
        if (c.p.connected) c.send({ type: 'stop' });
        return stopped;
      }),
    );
    await h1.stop();
    await s.close();
  }
}

for (const n of SIZES) await measure(n);
process.exit(0);
