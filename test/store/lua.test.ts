// evalLua sends a script's source only when Redis lacks it (a restarted Redis, SCRIPT FLUSH): the
// first call of a script Redis has never seen still answers, and later ones run by SHA. A script of
// its own per test run (a unique comment) stands for the flushed cache: SCRIPT FLUSH itself would
// pull the scripts from under every other client of this Redis.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { evalLua, evalLuaMany } from '../../src/store/lua.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
  INCR_BY = `-- ${t.prefix}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`;
});
afterAll(() => t.cleanup());

let INCR_BY = '';

describe('evalLua', () => {
  it('loads the script on NOSCRIPT and runs it by SHA afterwards; a script error is thrown as is', async () => {
    const key = `${t.prefix}lua-counter`;
    // Spies on this test's own client (the server's command counters are shared with every other test).
    const evalSpy = vi.spyOn(t.redis, 'eval');
    const evalshaSpy = vi.spyOn(t.redis, 'evalsha');
    try {
      expect(await t.redis.script('EXISTS', sha1(INCR_BY))).toEqual([0]);
      expect(await evalLua(t.redis, INCR_BY, 1, key, 2)).toBe(2);
      // Unknown to Redis: tried by SHA, then sent once with its source, which Redis now keeps.
      expect(evalshaSpy.mock.calls).toEqual([[sha1(INCR_BY), 1, key, 2]]);
      expect(evalSpy.mock.calls).toEqual([[INCR_BY, 1, key, 2]]);
      expect(await t.redis.script('EXISTS', sha1(INCR_BY))).toEqual([1]);
      evalSpy.mockClear();
      evalshaSpy.mockClear();
      expect(await evalLua(t.redis, INCR_BY, 1, key, 3)).toBe(5);
      expect(evalshaSpy.mock.calls).toEqual([[sha1(INCR_BY), 1, key, 3]]);
      expect(evalSpy).not.toHaveBeenCalled();
    } finally {
      evalSpy.mockRestore();
      evalshaSpy.mockRestore();
    }
    await expect(evalLua(t.redis, `return redis.call('NOSUCHCOMMAND')`, 0)).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });

  it('runs one script for several key sets in one pipeline, one Redis lacks too, and throws a failing call', async () => {
    const keys = ['a', 'b', 'c'].map((x) => `${t.prefix}lua-many-${x}`);
    const fresh = `${INCR_BY} -- many`;
    expect(await t.redis.script('EXISTS', sha1(fresh))).toEqual([0]);
    expect(await evalLuaMany(t.redis, fresh, keys.map((key, i) => ({ numKeys: 1, args: [key, i + 1] })))).toEqual([1, 2, 3]);
    expect(await evalLuaMany(t.redis, INCR_BY, keys.map((key) => ({ numKeys: 1, args: [key, 10] })))).toEqual([11, 12, 13]);
    expect(await evalLuaMany(t.redis, INCR_BY, [])).toEqual([]);
    await expect(evalLuaMany(t.redis, INCR_BY, [{ numKeys: 1, args: [keys[0]!, 'not-a-number'] }])).rejects.toThrow(/not an integer/);
  });
});
