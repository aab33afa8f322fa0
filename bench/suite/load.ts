// The VM load of `npm run bench`: N INVITEs (one VM each, a MAC of its own) from the stack's agents,
// a closed loop with one INVITE in flight per agent (inFlight: more, spread over the agents), VM i on
// agent i mod agents in that agent's tenant. The sessions stay up (no BYE): the figures are for
// provisioning, and memory grows with them.
import { performance } from 'node:perf_hooks';
import type { Stack } from './stack.ts';
import { tenantOf } from './stack.ts';

export interface LoadResult {
  vms: number;
  seconds: number;
  vmsPerSecond: number;
  p50ms: number;
  p99ms: number;
  queuedP50ms: number;
  queuedP99ms: number;
  failed: number;
  firstFailure?: string;
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

function macOf(i: number, salt: number): string {
  return `02:${[salt & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, 0x42].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** `start`: the first VM number (a second load on the same stack continues the numbering). */
/** `onProgress(done)` after each 200 — the memory figures are sampled mid-run from there. */
export async function inviteVms(s: Stack, n: number, o: { start?: number; salt?: number; inFlight?: number; onProgress?: (done: number) => Promise<void> | void } = {}): Promise<LoadResult> {
  const start = o.start ?? 0;
  const lat: number[] = [];
  // INVITE → 183 "configuration queued": the proxies' own part, before the devices.
  const queued: number[] = [];
  let next = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const agents = s.agents.length;
  const slots = Math.min(o.inFlight ?? agents, n);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: slots }, async () => {
      while (next < n) {
        const i = start + next++;
        const a = i % agents;
        const t = performance.now();
        try {
          const r = await s.agents[a]!.invite({ mac: macOf(i, o.salt ?? 0) }, tenantOf(a), { onProvisional: (p) => void (p.status === 183 && queued.push(performance.now() - t)) });
          if (r.status !== 200) throw new Error(`${r.status} ${r.reason}`);
          lat.push(performance.now() - t);
          await o.onProgress?.(lat.length);
        } catch (e) {
          failed++;
          firstFailure ??= `VM ${i}: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { vms: lat.length, seconds, vmsPerSecond: lat.length / seconds, p50ms: pct(lat, 50), p99ms: pct(lat, 99), queuedP50ms: pct(queued, 50), queuedP99ms: pct(queued, 99), failed, ...(firstFailure ? { firstFailure } : {}) };
}
