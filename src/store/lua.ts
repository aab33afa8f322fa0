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
  const run = async (which: readonly { numKeys: number; args: (string | number)[] }[]) => {
    const p = redis.pipeline();
    for (const c of which) p.evalsha(shaOf(source), c.numKeys, ...c.args);
    return (await p.exec()) ?? [];
  };
  const noScript = ([e]: [Error | null, unknown]) => e instanceof Error && e.message.startsWith('NOSCRIPT');
  const res = await run(calls);
  const missed = res.map((r, i) => (noScript(r) ? i : -1)).filter((i) => i >= 0);
  if (missed.length) {
    // Only the calls that did not run go again: the others ran (a SCRIPT LOAD by another client can
    // land in the middle of the pipeline).
    await redis.script('LOAD', source);
    const again = await run(missed.map((i) => calls[i]!));
    missed.forEach((i, j) => (res[i] = again[j]!));
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
