// Server transactions in Redis (RFC 3261 §17.2): a request's final answer is kept for a while under
// (sender, tid), so a retransmission is answered again — by whichever process gets it — and never
// executed twice. CSeq per (sender, call) must grow (§12.2.2), so an old request replayed with a
// new tid is refused.
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import type { Response } from '../protocol/messages.ts';
import { evalLua } from '../../store/lua.ts';

export interface TxRecord {
  state: 'proceeding' | 'completed';
  /** The digest the request carried: a retransmission is the very same request. */
  auth: string;
  final?: Response;
}

// Input: KEYS[1] cseq key; ARGV[1] cseq, ARGV[2] ttl seconds. Output: 1 accepted, or the last cseq seen.
const ADVANCE_CSEQ = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return -1
`;

export class Transactions {
  /** `scope` names the server (tenant proxy, or one network proxy): proxies sharing a Redis keep separate transactions. */
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly scope: string,
    private readonly ttlSeconds = 300,
    private readonly cseqTtlSeconds = 86_400,
  ) {}

  async find(from: string, tid: string): Promise<TxRecord | null> {
    const raw = await this.redis.get(this.k.msgTx(`${this.scope}/${from}`, tid));
    return raw ? (JSON.parse(raw) as TxRecord) : null;
  }

  /** Starts a transaction; returns the existing record instead when (from, tid) is taken. */
  async begin(from: string, tid: string, auth: string): Promise<TxRecord | null> {
    const rec: TxRecord = { state: 'proceeding', auth };
    const ok = await this.redis.set(this.k.msgTx(`${this.scope}/${from}`, tid), JSON.stringify(rec), 'EX', this.ttlSeconds, 'NX');
    return ok ? null : await this.find(from, tid);
  }

  async complete(from: string, tid: string, auth: string, final: Response): Promise<void> {
    const rec: TxRecord = { state: 'completed', auth, final };
    await this.redis.set(this.k.msgTx(`${this.scope}/${from}`, tid), JSON.stringify(rec), 'EX', this.ttlSeconds);
  }

  /** The highest CSeq `from` has used in each call here (0: none on record), in one round trip. */
  async lastCseqs(from: string, callIds: string[]): Promise<number[]> {
    if (callIds.length === 0) return [];
    const got = await this.redis.mget(callIds.map((c) => this.k.msgCseq(`${this.scope}/${from}`, c)));
    return got.map((v) => Number(v ?? 0));
  }

  /** null when the CSeq is above every earlier one of this call, else the last one seen. */
  async advanceCseq(from: string, callId: string, cseq: number): Promise<number | null> {
    const r = Number(await evalLua(this.redis, ADVANCE_CSEQ, 1, this.k.msgCseq(`${this.scope}/${from}`, callId), cseq, this.cseqTtlSeconds));
    return r < 0 ? null : r;
  }
}
