// evalLua sends a script's source only when Redis lacks it: after SCRIPT FLUSH (what a restarted
// Redis looks like) the same call still answers, and afterwards runs by SHA again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalLua } from '../../src/store/lua.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(() => t.cleanup());

const INCR_BY = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;

describe('evalLua', () => {
  it('loads the script on NOSCRIPT and runs it by SHA afterwards; a script error is thrown as is', async () => {
    const key = `${t.prefix}lua-counter`;
    await t.redis.script('FLUSH');
    expect(await evalLua(t.redis, INCR_BY, 1, key, 2)).toBe(2);
    const calls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await t.redis.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    expect(await evalLua(t.redis, INCR_BY, 1, key, 3)).toBe(5);
    expect(await calls()).toBeGreaterThan(before);
    await expect(evalLua(t.redis, `return redis.call('NOSUCHCOMMAND')`, 0)).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });
});
