// Every test gets its own key prefix on the real Redis and deletes its keys afterwards.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/store/redis.ts';
import { keys, type Keys } from '../../src/store/keys.ts';

export interface TestRedis {
  redis: Redis;
  prefix: string;
  k: Keys;
  /** Every key under the prefix with its type and value, sorted: compare before/after to prove "unchanged". */
  snapshot(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function testRedis(): Promise<TestRedis> {
  const prefix = `test-${randomUUID()}:`;
  const redis = connectRedis(undefined, { name: 'nvo-test' });
  const all = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found.sort();
  };
  return {
    redis,
    prefix,
    k: keys(prefix),
    async snapshot() {
      const out: string[] = [];
      for (const key of await all()) {
        const dump = await redis.dumpBuffer(key);
        out.push(`${key} ${dump ? dump.toString('base64') : ''}`);
      }
      return out.join('\n');
    },
    async cleanup() {
      const found = await all();
      for (let i = 0; i < found.length; i += 500) await redis.del(...found.slice(i, i + 500));
      redis.disconnect();
    },
  };
}
