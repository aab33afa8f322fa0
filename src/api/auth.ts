// Bearer-token check for the admin API. Reads are open; anything that changes state needs the token.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time: both sides are hashed to equal length first, so neither length nor content leaks through timing. */
export function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  return timingSafeEqual(digest(expected), digest(m[1]!));
}

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
