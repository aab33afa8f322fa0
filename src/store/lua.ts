// Runs a Lua script by its SHA-1 (EVALSHA), sending the source only when Redis does not have it yet
// (NOSCRIPT: after a restart or SCRIPT FLUSH). EVAL would send the whole source every time: with
// the allocator's and the membership scripts that was most of the ~24 KiB a VM's INVITE wrote to
// Redis, and writing it was a sixth of the network proxy's CPU. ioredis's defineCommand does the
// same but adds untyped methods to the client; this keeps the call sites plain.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const shas = new Map<string, string>();

function shaOf(source: string): string {
  let sha = shas.get(source);
  if (!sha) shas.set(source, (sha = createHash('sha1').update(source).digest('hex')));
  return sha;
}

/** The same script for several key sets in one round trip (a pipeline of EVALSHA); each call is atomic
 *  on its own, as separate evalLua calls would be. The first failure is thrown. */
export async function evalLuaMany(redis: Redis, source: string, calls: readonly { numKeys: number; args: (string | number)[] }[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const run = async () => {
    const p = redis.pipeline();
    for (const c of calls) p.evalsha(shaOf(source), c.numKeys, ...c.args);
    return (await p.exec()) ?? [];
  };
  let res = await run();
  if (res.some(([e]) => e instanceof Error && e.message.startsWith('NOSCRIPT'))) {
    await redis.script('LOAD', source);
    res = await run();
  }
  const failed = res.find(([e]) => e);
  if (failed) throw failed[0];
  return res.map(([, v]) => v);
}

export async function evalLua(redis: Redis, source: string, numKeys: number, ...args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(shaOf(source), numKeys, ...args);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return redis.eval(source, numKeys, ...args);
  }
}
