// ioredis reports an unreachable Redis as plain errors; turn them into the project's `unavailable`.
import { NvoError } from '../errors.ts';
import { redisUrl } from './redis.ts';

const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection is closed|max retries per request|Stream isn't writeable/i;

export function asNvoError(e: unknown): NvoError {
  if (e instanceof NvoError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (UNREACHABLE.test(message) || (e instanceof Error && e.name === 'MaxRetriesPerRequestError')) {
    return new NvoError('unavailable', `cannot reach Redis at ${redisUrl()} (${message})`);
  }
  return new NvoError('internal', message);
}
