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
      for (const key of await all()) out.push(`${key} ${await canonicalValue(redis, key)}`);
      return out.join('\n');
    },
    async cleanup() {
      // Again until nothing is left: a component's last write can land just after its close() returned.
      for (let pass = 0; pass < 5; pass++) {
        const found = await all();
        if (found.length === 0) break;
        for (let i = 0; i < found.length; i += 500) await redis.del(...found.slice(i, i + 500));
        await new Promise((r) => setTimeout(r, 200));
      }
      redis.disconnect();
    },
  };
}

// DUMP is not stable for a hash, set or sorted set in hashtable encoding: Redis rehashes incrementally,
// even on reads, so the same content can serialize in another order. Those types are compared by
// their sorted content instead (every byte of every field and value); the others by DUMP.
async function canonicalValue(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  const b64 = (b: Buffer) => b.toString('base64');
  const sorted = (items: string[]) => items.sort().join(',');
  const ttl = await redis.pttl(key);
  const tail = ttl >= 0 ? ` ttl` : '';
  if (type === 'hash') {
    const h = await redis.hgetallBuffer(key);
    return `hash ${sorted(Object.entries(h).map(([f, v]) => `${b64(Buffer.from(f))}=${b64(v)}`))}${tail}`;
  }
  if (type === 'set') return `set ${sorted((await redis.smembersBuffer(key)).map(b64))}${tail}`;
  if (type === 'zset') {
    const flat = await redis.zrangeBuffer(key, 0, -1, 'WITHSCORES');
    const pairs: string[] = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push(`${b64(flat[i]!)}=${flat[i + 1]!.toString()}`);
    return `zset ${sorted(pairs)}${tail}`;
  }
  const dump = await redis.dumpBuffer(key);
  return `${type} ${dump ? b64(dump) : ''}${tail}`;
}
