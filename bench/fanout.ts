// INFO fan-out: how long a MAC added (or deleted) on one hNVE takes to be applied at every other member
// of the VNI, through the real tenant and network proxies (WebSockets, Redis, in-memory device sync),
// for 100 and 500 members. The agents share this process (each with its own connection, registration
// and recorder data plane), so the figures include their work on the same two cores.
// Per size: ROUNDS INFOs one after another; "member" = INFO sent → that member applied it (all
// members of all rounds), "all" = INFO sent → the last member applied it (one per round).
import { performance } from 'node:perf_hooks';
import { startFleet } from '../test/agent/hnve/fleet.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const SIZES = (process.env.BENCH_SIZES ?? '100,500').split(',').map(Number);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

for (const n of SIZES) {
  const f = await startFleet(n);
  try {
    const member: number[] = [];
    const all: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const target = f.h1.tables.get('acme')!.revision + 1;
      const t0 = performance.now();
      const done = f.agents.map(
        (a) =>
          new Promise<number>((resolve) => {
            const on = (e: { cid: string; revision: number }) => {
              if (e.cid !== 'acme' || e.revision < target) return;
              a.off('mac-table', on);
              resolve(performance.now() - t0);
            };
            a.on('mac-table', on);
          }),
      );
      const mac = '02:00:00:00:01:99';
      const r = await f.h1.info(f.callId, round % 2 === 0 ? { add: [mac] } : { delete: [mac] });
      if (r.status !== 200) throw new Error(`INFO: ${r.status} ${r.reason}`);
      const times = await Promise.all(done);
      member.push(...times);
      all.push(Math.max(...times));
    }
    const f1 = (x: number) => x.toFixed(1);
    console.log(`${n} members, ${ROUNDS} INFOs: INFO → member applied p50 ${f1(pct(member, 50))} ms, p99 ${f1(pct(member, 99))} ms; INFO → all ${n - 1} others applied p50 ${f1(pct(all, 50))} ms, p99 ${f1(pct(all, 99))} ms`);
  } finally {
    await f.close();
  }
}
process.exit(0);
