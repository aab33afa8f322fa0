// npm run bench:alloc — VLAN allocations per second against the real Redis at REDIS_URL, with 1 and
// 50 concurrent clients (each its own connection, as separate proxy processes would be). Every
// allocation binds a new (CID, pod) in the intersection of three pools (pod, WAN gateway, ToR gateway).
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { connectRedis } from '../src/store/redis.ts';
import { keys } from '../src/store/keys.ts';
import { Allocator, type VlanPool } from '../src/alloc/allocator.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const PODS = 200;

function poolsFor(pod: number): VlanPool[] {
  return [
    { name: `pod:p${pod}`, label: `pod p${pod}`, ranges: ['1-4000'] },
    { name: `dev:wan${pod % 20}`, label: `wan-gw wan${pod % 20}`, ranges: ['100-3999'] },
    { name: `dev:tgw${pod % 20}`, label: `tor-gw tgw${pod % 20}`, ranges: ['1-4094'] },
  ];
}

async function round(clients: number): Promise<{ clients: number; perSecond: number; p50: number; p99: number; total: number }> {
  const prefix = `bench-${randomUUID()}:`;
  const conns = Array.from({ length: clients }, () => connectRedis(undefined, { name: 'nvo-bench' }));
  const allocs = conns.map((c) => new Allocator(c, keys(prefix)));
  const lat: number[] = [];
  let n = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    allocs.map(async (a, c) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t0 = performance.now();
        const pod = (c * 7 + i) % PODS;
        await a.acquireVlan({ cid: `c${c}-${i}`, pod: `p${pod}`, user: 'vm', pools: poolsFor(pod) });
        lat.push(performance.now() - t0);
        n++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  // Clean up this round's keys.
  const r = conns[0]!;
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (batch.length) await r.del(...batch);
  } while (cursor !== '0');
  conns.forEach((c) => c.disconnect());
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { clients, perSecond: Math.round(n / elapsed), p50: +q(0.5).toFixed(2), p99: +q(0.99).toFixed(2), total: n };
}

const rows = [await round(1), await round(50)];
console.log(`bench:alloc — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, ${SECONDS}s per round`);
console.log('clients  allocations/s  p50 ms  p99 ms  total');
for (const r of rows) console.log(`${String(r.clients).padStart(7)}  ${String(r.perSecond).padStart(13)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ${r.total}`);
