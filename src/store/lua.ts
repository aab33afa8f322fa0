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

export async function evalLua(redis: Redis, source: string, numKeys: number, ...args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(shaOf(source), numKeys, ...args);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return redis.eval(source, numKeys, ...args);
  }
}
