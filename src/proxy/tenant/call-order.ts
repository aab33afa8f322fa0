// In-dialog requests that change a session's MAC table (INFO, BYE) are EXECUTED in CSeq order, one
// at a time (RFC 3261 §12.2.2). The server admits them in CSeq order already (ws-server.ts: a CSeq not
// above the last is 400), but runs handlers concurrently: an INFO delete sent right behind its add
// could reach the network proxies first, and the MAC stayed. Two layers:
//  - in this process, a FIFO per call: handlers are entered in the order the server admitted them;
//  - in Redis, per (sender, call), a lease (one holder at a time, so a request that arrives at another
//    process after a reconnect waits for the one still running here) and the highest CSeq executed:
//    a request whose CSeq is not above it came too late (another process ran a later one) and is
//    refused with the transport's 400 rather than run out of order.
// A holder that dies leaves the lease to expire (LEASE_MS); a live one renews it while it runs.
// REFER's transfer of a session to another hNVE takes the same lease, without a CSeq (hold()), so an
// INFO or BYE of the session runs wholly before or wholly after it, never in between.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import { evalLua } from '../../store/lua.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { REASONS, StatusError } from '../protocol/status.ts';
import type { Handler, RequestContext } from '../transport/ws-server.ts';

const LEASE_MS = 10_000;
const KEEP_SECONDS = 86_400; // as long as the transport remembers a call's CSeq

// KEYS[1] hash {holder, until, done}; ARGV token, cseq ('-': no request of the NVE's, so no CSeq to
// check or record), lease ms, keep s. → 'ok' | 'busy' | done CSeq.
const ENTER = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= ARGV[1] and tonumber(redis.call('HGET', KEYS[1], 'until')) > now then return 'busy' end
if ARGV[2] ~= '-' then
  local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
  if tonumber(ARGV[2]) <= done then return tostring(done) end
  redis.call('HSET', KEYS[1], 'done', ARGV[2])
end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'until', now + tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 'ok'
`;
// KEYS[1]; ARGV token, lease ms (0: leave). → 1 while the token holds the lease.
const HOLD = `
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('HDEL', KEYS[1], 'holder', 'until') return 1 end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'until', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]))
return 1
`;

export class CallOrder {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  /** The handler, run for each request only after the earlier ones of its call have finished. */
  wrap(handler: Handler): Handler {
    return (ctx) => this.run(ctx, () => handler(ctx));
  }

  // Must enqueue before its first await: the server calls handlers in the order it admitted them.
  private run(ctx: RequestContext, fn: () => Promise<FinalAnswer>): Promise<FinalAnswer> {
    const key = this.k.msgOrder(ctx.identity, ctx.req.callId);
    const prev = this.tails.get(key);
    const mine = (prev ?? Promise.resolve()).catch(() => undefined).then(() => this.exclusive(key, ctx.req.cseq, ctx.req.callId, fn));
    this.tails.set(key, mine);
    void mine.catch(() => undefined).then(() => this.tails.get(key) === mine && this.tails.delete(key));
    return mine;
  }

  /** Runs `fn` holding the lease of `from`'s requests in the call, as an INFO or BYE of it would:
   *  REFER's transfer of a session (refer.ts) is ordered against them this way. */
  hold<T>(from: string, callId: string, fn: () => Promise<T>): Promise<T> {
    return this.exclusive(this.k.msgOrder(from, callId), '-', callId, fn);
  }

  private async exclusive<T>(key: string, cseq: number | '-', callId: string, fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      const r = String(await evalLua(this.redis, ENTER, 1, key, token, cseq, LEASE_MS, KEEP_SECONDS));
      if (r === 'ok') break;
      if (r !== 'busy') {
        throw new StatusError(400, `${REASONS[400]}: cseq ${cseq} is not above ${r}, the last of call ${callId} executed`, { issues: [{ field: 'cseq', reason: `must be above ${r}` }] });
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const renew = setInterval(() => void evalLua(this.redis, HOLD, 1, key, token, LEASE_MS).catch(() => undefined), LEASE_MS / 3);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await evalLua(this.redis, HOLD, 1, key, token, 0);
    }
  }
}
