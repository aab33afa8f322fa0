// VNI membership per CID in Redis: which VM MAC sits behind which VTEP. It is the VNI's MAC table
// that INVITE answers carry and NOTIFYs update. Several network proxies of one pod write the same
// member for one session, so writes are idempotent; a MAC held by another session is a conflict.
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';

export interface Member {
  mac: string;
  vtep: string;
  nve: string;
  callId: string;
  pod: string;
  encapsulation: string;
}

// Input: KEYS[1] members hash, KEYS[2] index set; ARGV[1] mac, ARGV[2] member JSON, ARGV[3] callId, ARGV[4] cid
// Output: '' when written, else the JSON of the member that holds the MAC for another session
const ADD = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cjson.decode(cur).callId ~= ARGV[3] then return cur end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
return ''
`;

// Input: KEYS[1] members hash, KEYS[2] index set; ARGV[1] mac, ARGV[2] callId, ARGV[3] cid. Output: 1 removed, 0 not this session's
const REMOVE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur).callId ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
`;

export class Membership {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  async members(cid: string): Promise<Member[]> {
    const all = await this.redis.hgetall(this.k.vniMembers(cid));
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as Member)
      .sort((a, b) => (a.mac < b.mac ? -1 : 1));
  }

  async holder(cid: string, mac: string): Promise<Member | null> {
    const raw = await this.redis.hget(this.k.vniMembers(cid), mac);
    return raw ? (JSON.parse(raw) as Member) : null;
  }

  /** Adds the member; returns the member of another session that holds the MAC instead, if any. */
  async add(cid: string, m: Member): Promise<Member | null> {
    const r = (await this.redis.eval(ADD, 2, this.k.vniMembers(cid), this.k.vniMemberIndex, m.mac, JSON.stringify(m), m.callId, cid)) as string;
    return r ? (JSON.parse(r) as Member) : null;
  }

  async remove(cid: string, mac: string, callId: string): Promise<boolean> {
    return Number(await this.redis.eval(REMOVE, 2, this.k.vniMembers(cid), this.k.vniMemberIndex, mac, callId, cid)) === 1;
  }

  async cids(): Promise<string[]> {
    return (await this.redis.smembers(this.k.vniMemberIndex)).sort();
  }
}

export function macTable(members: readonly Member[]): { mac: string; vtep: string }[] {
  return members.map((m) => ({ mac: m.mac, vtep: m.vtep }));
}
