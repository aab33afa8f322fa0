// The digest an NVE (or a tenant proxy, towards a network proxy) proves its secret with. SIP digest's
// idea (RFC 3261 §22.4, RFC 7616 §3.4: server nonce, client nonce-count, a keyed hash over the
// request) with HMAC-SHA-256 instead of MD5, and the body covered, so a captured answer cannot be
// replayed with another body. Written out in docs/protocol.md so any language can compute it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'HMAC-SHA-256';

/** RFC 8785-style canonical JSON: object keys sorted, no white space. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export interface DigestInput {
  nonce: string;
  nc: number;
  method: string;
  from: string;
  callId: string;
  tid: string;
  cseq: number;
  body: Record<string, unknown>;
}

export function digestString(i: DigestInput): string {
  const bodyHash = createHash('sha256').update(canonicalJson(i.body)).digest('hex');
  return [i.nonce, i.nc, i.method, i.from, i.callId, i.tid, i.cseq, bodyHash].join(':');
}

export function digest(secret: string, i: DigestInput): string {
  return createHmac('sha256', secret).update(digestString(i)).digest('hex');
}

export function digestMatches(secret: string, i: DigestInput, given: string): boolean {
  const want = Buffer.from(digest(secret, i), 'hex');
  const got = Buffer.from(given, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}
