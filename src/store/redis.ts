// One place that opens Redis connections, so every process reads REDIS_URL and the key prefix alike.
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PREFIX = 'nvo:';

export function redisUrl(): string {
  return process.env.REDIS_URL || DEFAULT_REDIS_URL;
}

/** Key prefix: every key nvo writes starts with it, so several instances (and tests) share one Redis. */
export function keyPrefix(): string {
  return process.env.NVO_PREFIX || DEFAULT_PREFIX;
}

export function connectRedis(url = redisUrl(), opts: { name?: string; maxRetriesPerRequest?: number | null } = {}): Redis {
  return new Redis(url, {
    connectionName: opts.name ?? 'nvo',
    // BullMQ workers need null here; plain store clients fail a command after a few tries instead of hanging.
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? 3 : opts.maxRetriesPerRequest,
    lazyConnect: false,
  });
}
