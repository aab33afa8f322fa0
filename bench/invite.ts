// INVITE→200 latency and INVITEs per second (each followed by its BYE) through a real tenant proxy and network proxy (WebSockets, Redis) with
// the in-memory device sync, at 1 and at 100 in flight. Each INVITE is followed by its BYE (outside
// the latency, inside the rate), so the sessions do not pile up.
import { performance } from 'node:perf_hooks';
import { startStack } from '../test/proxy/harness.ts';

const N = Number(process.env.BENCH_INVITES ?? 300);
// The proxies log one line per request at info; the figures are the output here.
process.env.NVO_LOG_LEVEL ??= 'warn';

async function run(inFlight: number): Promise<void> {
  const s = await startStack();
  try {
    const agents = await Promise.all(Array.from({ length: Math.min(inFlight, 20) }, (_, i) => s.agent((['h1', 'h2', 'h3'] as const)[i % 3]!)));
    for (const a of agents.slice(0, 3)) await a.register(3600);
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, w) => {
        const a = agents[w % agents.length]!;
        while (next < N) {
          const i = next++;
          const mac = `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
          const t = performance.now();
          const r = await a.invite({ mac }, i % 2 ? 'acme' : 'globex');
          if (r.status !== 200) throw new Error(`INVITE ${i}: ${r.status} ${r.reason}`);
          lat.push(performance.now() - t);
          await a.bye(r.callId);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    lat.sort((x, y) => x - y);
    const p = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!.toFixed(1);
    console.log(`in flight ${String(inFlight).padStart(3)}: ${N} INVITEs, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, ${(N / secs).toFixed(0)} INVITEs/s (each with its BYE)`);
  } finally {
    await s.close();
    // The inventory's transaction connections are its own; left open they would keep the process alive.
    await s.inventory.close();
  }
}

await run(1);
await run(100);
