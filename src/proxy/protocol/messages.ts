// The wire messages (docs/protocol.md): JSON objects, one per WebSocket text frame. A request has a
// method; a response has a status. SIP's transaction model (RFC 3261 §17) without its syntax: `tid`
// names a transaction (the branch parameter's job), `callId` a session, `cseq` orders requests
// within one session (§8.1.1.5).
import { z } from 'zod';
import type { Status } from './status.ts';

export const METHODS = ['REGISTER', 'INVITE', 'BYE', 'OPTIONS', 'CANCEL', 'INFO', 'REFER', 'NOTIFY'] as const;
export type Method = (typeof METHODS)[number];

const token = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":", "@" or "-"');

export const authSchema = z.strictObject({
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'must be the 32 hex digits a 401 gave'),
  nc: z.number().int('must be a whole number').min(1).max(2 ** 31 - 1),
  response: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits (HMAC-SHA-256)'),
});
export type Auth = z.output<typeof authSchema>;

export const requestSchema = z.strictObject({
  method: z.string().regex(/^[A-Z]{2,16}$/, 'must be an upper-case method name'),
  tid: token,
  cseq: z.number().int('must be a whole number').min(1).max(2 ** 31 - 1),
  callId: token,
  from: token,
  to: token,
  body: z.record(z.string(), z.unknown()).default({}),
  auth: authSchema.optional(),
});
export type Request = z.output<typeof requestSchema>;

export const responseSchema = z.strictObject({
  tid: token.nullable(),
  status: z.number().int().min(100).max(699),
  reason: z.string().max(1024),
  method: z.string().optional(),
  cseq: z.number().int().optional(),
  body: z.record(z.string(), z.unknown()).default({}),
  retryAfter: z.number().int().min(0).optional(),
});
export type Response = z.output<typeof responseSchema>;

export interface FinalAnswer {
  status: Status;
  reason?: string;
  body?: Record<string, unknown>;
  retryAfter?: number;
}

export function isProvisional(status: number): boolean {
  return status >= 100 && status < 200;
}
