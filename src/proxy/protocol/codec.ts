// Text frame ⇄ message. Decoding never throws: a frame that is not a message becomes the 4xx to send
// back, with the transaction id when one could be read, so the connection stays usable.
import { issuesOf } from '../../model/validate.ts';
import { requestSchema, responseSchema, type Request, type Response } from './messages.ts';
import { REASONS, type Status } from './status.ts';

/** Default largest message (bytes of the JSON text) a proxy accepts; larger ones get 413. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

export type Decoded =
  | { kind: 'request'; msg: Request }
  | { kind: 'response'; msg: Response }
  | { kind: 'invalid'; reply: Response };

function reply(tid: string | null, status: Status, reason: string, body: Record<string, unknown> = {}): Response {
  return { tid, status, reason, body };
}

function readableTid(value: unknown): string | null {
  if (!value || typeof value !== 'object') return null;
  const tid = (value as Record<string, unknown>).tid;
  return typeof tid === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(tid) ? tid : null;
}

export function decode(data: string | Buffer, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): Decoded {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) {
    return { kind: 'invalid', reply: reply(null, 413, `${REASONS[413]}: ${size} bytes, at most ${maxBytes}`, { maxBytes }) };
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (e) {
    return { kind: 'invalid', reply: reply(null, 400, `${REASONS[400]}: not JSON (${(e as Error).message})`) };
  }
  const tid = readableTid(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'invalid', reply: reply(null, 400, `${REASONS[400]}: a message is a JSON object`) };
  }
  const isResponse = 'status' in value;
  const parsed = isResponse ? responseSchema.safeParse(value) : requestSchema.safeParse(value);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    const first = issues[0]!;
    return { kind: 'invalid', reply: reply(tid, 400, `${REASONS[400]}: ${first.field || 'message'}: ${first.reason}`, { issues }) };
  }
  return isResponse ? { kind: 'response', msg: parsed.data as Response } : { kind: 'request', msg: parsed.data as Request };
}

export function encode(msg: Request | Response): string {
  return JSON.stringify(msg);
}
