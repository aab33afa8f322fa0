// A move's record in Redis (refer.ts) and the lease that says which tenant-proxy process runs it.
// The runner renews the lease while it works; a process killed mid-move stops renewing, and the sweep
// of any tenant proxy claims the move once the lease has lapsed and finishes it from the phase the
// record names (the pattern of call-order.ts's lease and the network proxy's orphan sweep). Every
// phase change is written only while the writer still holds the lease, so a runner that stalled past
// its lease and was overtaken by a sweep stops instead of working beside it.
// One move at a time per hNVE: a `busy` key per source and target names the move until it ends.
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import { evalLua } from '../../store/lua.ts';
import { LeaseLostError } from '../../errors.ts';

export const LEASE_MS = 10_000;
const KEEP_SECONDS = 86_400; // the record, after the move, for `nvo` and the logs

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Input: KEYS[1] record, KEYS[2] busy source, KEYS[3] busy target, KEYS[4] active set; ARGV[1] referId,
// ARGV[2] token, ARGV[3] lease ms, ARGV[4] keep s, ARGV[5..] field, value pairs.
// Output: '' when the move started, else the referId that keeps the source or the target busy.
const BEGIN = `${NOW}
for i = 2, 3 do
  local v = redis.call('GET', KEYS[i])
  if v and v ~= ARGV[1] then return v end
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
redis.call('HSET', KEYS[1], 'holder', ARGV[2], 'until', now + tonumber(ARGV[3]), unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[1])
return ''
`;

// Input: KEYS[1] record; ARGV[1] token, ARGV[2] lease ms. Output: 'gone' (no record), 'done', 'live'
// (another holder's lease runs), or 'ok' (the caller holds it now).
const CLAIM = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('HGET', KEYS[1], 'state') == 'done' then return 'done' end
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= ARGV[1] and tonumber(redis.call('HGET', KEYS[1], 'until') or '0') > now then return 'live' end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'until', now + tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'recoveries', 1)
return 'ok'
`;

// Input: KEYS[1] record; ARGV[1] token, ARGV[2] lease ms (renews; '-' does not), ARGV[3..] field, value
// pairs to write. Output: 1 while the token holds the lease (and then it wrote), else 0.
const WRITE = `${NOW}
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '-' then redis.call('HSET', KEYS[1], 'until', now + tonumber(ARGV[2])) end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
return 1
`;

// Input: KEYS as BEGIN; ARGV[1] referId, ARGV[2] token. Output: 1 when ended, 0 when not the holder.
const FINISH = `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done')
redis.call('HDEL', KEYS[1], 'holder', 'until')
for i = 2, 3 do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
redis.call('SREM', KEYS[4], ARGV[1])
return 1
`;

// Input: KEYS[1] busy key; ARGV[1] referId. Frees it only if that move still names it.
const FREE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class ReferLedger {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    readonly leaseMs = LEASE_MS,
  ) {}

  private keys4(referId: string, source: string, target: string): string[] {
    return [this.k.refer(referId), this.k.referBusy(source), this.k.referBusy(target), this.k.referActive];
  }

  /** Records the move and takes its lease; null when it started, else the move that keeps one of the
   *  two hNVEs busy. A busy key left by a move that has ended (or is only telling its requester so) is freed. */
  async begin(referId: string, source: string, target: string, token: string, fields: Record<string, string | number>): Promise<string | null> {
    const pairs = Object.entries(fields).flat();
    for (let tries = 0; ; tries++) {
      const busy = String(await evalLua(this.redis, BEGIN, 4, ...this.keys4(referId, source, target), referId, token, this.leaseMs, KEEP_SECONDS, ...pairs));
      if (!busy) return null;
      const [state, phase] = await this.redis.hmget(this.k.refer(busy), 'state', 'phase');
      if (tries > 0 || !(state === null || state === 'done' || phase === 'final')) return busy;
      for (const nve of [source, target]) await evalLua(this.redis, FREE, 1, this.k.referBusy(nve), busy);
    }
  }

  claim(referId: string, token: string): Promise<'gone' | 'done' | 'live' | 'ok'> {
    return evalLua(this.redis, CLAIM, 1, this.k.refer(referId), token, this.leaseMs) as Promise<'gone' | 'done' | 'live' | 'ok'>;
  }

  /** Writes fields if the token still holds the lease (renewing it); else throws LeaseLostError (a stalled runner whose move a sweep took over). */
  async write(referId: string, token: string, fields: Record<string, string | number> = {}): Promise<void> {
    const ok = Number(await evalLua(this.redis, WRITE, 1, this.k.refer(referId), token, this.leaseMs, ...Object.entries(fields).flat()));
    if (!ok) throw new LeaseLostError(`move ${referId} is run by another process now`);
  }

  /** Renews the lease every third of it until the returned function is called. A renewal that finds
   *  another holder changes nothing; the runner learns it at its next write. */
  keep(referId: string, token: string): () => void {
    const timer = setInterval(() => void evalLua(this.redis, WRITE, 1, this.k.refer(referId), token, this.leaseMs).catch(() => undefined), this.leaseMs / 3);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The move has ended: state done, lease and busy keys gone, out of the active set. */
  async finish(referId: string, source: string, target: string, token: string): Promise<void> {
    if (!Number(await evalLua(this.redis, FINISH, 4, ...this.keys4(referId, source, target), referId, token))) throw new LeaseLostError(`move ${referId} is run by another process now`);
  }

  active(): Promise<string[]> {
    return this.redis.smembers(this.k.referActive);
  }

  async forget(referId: string): Promise<void> {
    await this.redis.srem(this.k.referActive, referId);
  }

  record(referId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.k.refer(referId));
  }
}
