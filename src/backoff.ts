// Waits between retries: exponential, with "equal jitter" (half the step fixed, half random) so that
// many retrying at once — device syncs, agents started together — spread out.
export interface Backoff {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The wait before retry number `attemptsMade` (1 = the first retry). */
export function backoffDelay(attemptsMade: number, p: Backoff, random = Math.random): number {
  const step = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}
