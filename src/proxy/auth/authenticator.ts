// Server side of the digest: 401 with a fresh nonce when a request carries no credentials, 403 when
// they are wrong, the authenticated identity otherwise. Nonces live in Redis with a TTL and are
// bound to the identity they were issued to; each use carries a nonce-count never used before with
// that nonce (RFC 7616 §3.4: nc detects replays), so one 401 round trip serves many requests.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import type { Request } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import { ALGORITHM, digestMatches } from './digest.ts';
import { evalLua } from '../../store/lua.ts';

/** The secret of an identity (an hNVE's provisioned secret, or a network proxy's shared secret), or null if unknown. */
export type SecretLookup = (identity: string) => Promise<string | null>;

export interface Logger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

// Nonce-counts may arrive out of order (requests on one connection are handled concurrently), so a
// bitmap of used counts is kept beside the nonce, like IPsec's anti-replay window (RFC 4303 §3.4.3).
export const MAX_NONCE_COUNT = 1 << 20;
// Input: KEYS[1] nonce key (value: identity), KEYS[2] bitmap of used counts; ARGV[1] identity, ARGV[2] nonce-count
// Output: 1 accepted; 0 unknown or expired nonce; -1 issued to someone else; -2 count already used
const USE_NONCE = `
local owner = redis.call('GET', KEYS[1])
if not owner then return 0 end
if owner ~= ARGV[1] then return -1 end
if redis.call('SETBIT', KEYS[2], ARGV[2], 1) == 1 then return -2 end
redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[1])))
return 1
`;

export class Authenticator {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly secretOf: SecretLookup,
    private readonly log: Logger,
    private readonly realm: string,
    private readonly nonceTtlSeconds = 300,
  ) {}

  private async challenge(req: Request, why: string, stale = false): Promise<StatusError> {
    const nonce = randomBytes(16).toString('hex');
    await this.redis.set(this.k.msgNonce(nonce), req.from, 'EX', this.nonceTtlSeconds);
    return new StatusError(401, why, { realm: this.realm, algorithm: ALGORITHM, nonce, expiresIn: this.nonceTtlSeconds, ...(stale ? { stale: true } : {}) });
  }

  /** The authenticated identity (= req.from), or throws the 401/403 to answer. */
  async authenticate(req: Request, remote: string): Promise<string> {
    if (!req.auth) throw await this.challenge(req, 'credentials required');
    const secret = await this.secretOf(req.from);
    const ok = secret !== null && digestMatches(secret, { ...req.auth, method: req.method, from: req.from, callId: req.callId, tid: req.tid, cseq: req.cseq, body: req.body }, req.auth.response);
    if (!ok) {
      this.log.warn({ from: req.from, method: req.method, tid: req.tid, remote }, 'authentication failed');
      throw new StatusError(403, secret === null ? `unknown identity ${req.from}` : 'authentication failed: the digest does not match');
    }
    if (req.auth.nc > MAX_NONCE_COUNT) throw await this.challenge(req, 'nonce used up', true);
    const nonceKey = this.k.msgNonce(req.auth.nonce);
    const used = Number(await evalLua(this.redis, USE_NONCE, 2, nonceKey, `${nonceKey}:nc`, req.from, req.auth.nc));
    if (used === 1) return req.from;
    if (used === 0) throw await this.challenge(req, 'nonce expired or unknown', true);
    this.log.warn({ from: req.from, method: req.method, tid: req.tid, remote, nonce: req.auth.nonce }, used === -1 ? 'nonce of another identity' : 'nonce count replayed');
    throw new StatusError(403, used === -1 ? 'this nonce was issued to another identity' : `nonce count ${req.auth.nc} was already used`);
  }
}
