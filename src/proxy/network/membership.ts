// VNI membership per CID in Redis: which VM MAC sits behind which VTEP. It is the VNI's MAC table
// that INVITE answers carry and NOTIFYs update. Several network proxies of one pod write the same
// member for one session, so writes are idempotent; a MAC held by another session is a conflict.
//
// Every change that alters the table is numbered: one per-CID revision, taken in the same Lua call
// as the change itself, and the change is appended to a per-CID log under that number. So the log's
// order IS the table's order (a delete can never be numbered before the add it cancels), and an NVE
// that knows revision N catches up with the entries above N — or with the whole table when the
// trimmed log no longer reaches back that far. Besides MACs a VNI has "joining" VTEPs: tunnels that
// exist before any MAC sits behind them (REFER's make-before-break, use case 6).
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import { evalLua } from '../../store/lua.ts';

export interface Member {
  mac: string;
  vtep: string;
  nve: string;
  callId: string;
  pod: string;
  encapsulation: string;
}

export interface MacRow {
  mac: string;
  vtep: string;
}

/** One numbered change of a VNI's MAC table. An added MAC that exists is overwritten (moved). */
export interface TableEntry {
  revision: number;
  added: MacRow[];
  removed: MacRow[];
  floodsAdded: string[];
  floodsRemoved: string[];
}

export interface TableSnapshot {
  revision: number;
  table: MacRow[];
  floods: string[];
}

/** How many entries each VNI's log keeps; an NVE further behind gets the whole table. */
export const LOG_KEEP = 10_000;

/** Keys of the VNI plane (store/keys.ts). `ack` is what views read as "acknowledged". */
export function vniKeys(k: Keys) {
  return { rev: k.vniRev, log: k.vniLog, floods: k.vniFloods, fanout: k.vniFanout, ack: k.vniAck };
}

// Shared Lua tail: number the change and append it. Entries are `<rev>:<json>` so equal changes at
// different revisions stay distinct members of the sorted set.
const LOG = `
local function log(entry)
  local rev = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[4], rev, rev .. ':' .. entry)
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -${LOG_KEEP + 1})
  return rev
end
local function row(mac, vtep) return '{"mac":"' .. mac .. '","vtep":"' .. vtep .. '"}' end
local function entry(added, removed, fa, fr)
  return '{"added":[' .. table.concat(added, ',') .. '],"removed":[' .. table.concat(removed, ',') ..
    '],"floodsAdded":[' .. table.concat(fa, ',') .. '],"floodsRemoved":[' .. table.concat(fr, ',') .. ']}'
end
`;

// Input: KEYS[1] members hash, KEYS[2] index set, KEYS[3] rev, KEYS[4] log; ARGV[1] mac, ARGV[2] member JSON,
// ARGV[3] callId, ARGV[4] cid, ARGV[5] vtep. Output: '' when written (or already so), else the JSON of the
// member that holds the MAC for another session.
const ADD = `${LOG}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cjson.decode(cur).callId ~= ARGV[3] then return cur end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
if not cur or cjson.decode(cur).vtep ~= ARGV[5] then log(entry({row(ARGV[1], ARGV[5])}, {}, {}, {})) end
return ''
`;

// Input: KEYS 1-4 as ADD; ARGV[1] callId, ARGV[2] cid, ARGV[3] '*' for every MAC of the session, else
// a comma list of MACs. Output: how many were removed.
const REMOVE = `${LOG}
local removed = {}
local want = nil
if ARGV[3] ~= '*' then
  want = {}
  for m in string.gmatch(ARGV[3], '[^,]+') do want[m] = true end
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local m = cjson.decode(all[i + 1])
  if m.callId == ARGV[1] and (want == nil or want[all[i]]) then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(removed, row(all[i], m.vtep))
  end
end
if #removed > 0 then log(entry({}, removed, {}, {})) end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return #removed
`;

// Input: KEYS 1-4 as ADD; ARGV[1] callId, ARGV[2] new vtep, ARGV[3] new nve. Output: MACs moved.
const MOVE = `${LOG}
local added = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local m = cjson.decode(all[i + 1])
  if m.callId == ARGV[1] and (m.vtep ~= ARGV[2] or m.nve ~= ARGV[3]) then
    m.vtep = ARGV[2]
    m.nve = ARGV[3]
    redis.call('HSET', KEYS[1], all[i], cjson.encode(m))
    table.insert(added, row(all[i], ARGV[2]))
  end
end
if #added > 0 then log(entry(added, {}, {}, {})) end
return #added
`;

// Input: KEYS[1] floods set, KEYS[2] unused, KEYS[3] rev, KEYS[4] log; ARGV[1] vtep, ARGV[2] 'add'|'remove'.
// Output: the new revision, or 0 when nothing changed.
const FLOOD = `${LOG}
if ARGV[2] == 'add' then
  if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
  return log(entry({}, {}, {'"' .. ARGV[1] .. '"'}, {}))
end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
return log(entry({}, {}, {}, {'"' .. ARGV[1] .. '"'}))
`;

// Input: KEYS[1] fanout cursor, KEYS[2] rev. Output: {from, to}: the caller pushes entries (from, to].
const CLAIM = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local rev = tonumber(redis.call('GET', KEYS[2]) or '0')
if rev > cur then redis.call('SET', KEYS[1], rev) end
return {cur, math.max(cur, rev)}
`;

// Input: KEYS[1] ack hash; ARGV[1] nve, ARGV[2] revision. Acks only grow (a late answer never lowers one).
const ACK = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

export class Membership {
  private readonly v: ReturnType<typeof vniKeys>;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {
    this.v = vniKeys(k);
  }

  private keys4(cid: string): string[] {
    return [this.k.vniMembers(cid), this.k.vniMemberIndex, this.v.rev(cid), this.v.log(cid)];
  }

  async members(cid: string): Promise<Member[]> {
    const all = await this.redis.hgetall(this.k.vniMembers(cid));
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as Member)
      .sort((a, b) => (a.mac < b.mac ? -1 : 1));
  }

  /** The encapsulation the CID's other sessions use (every member of a VNI has the same one), from a
   *  few members drawn at random rather than the whole table; the whole table only when all drawn
   *  belong to `callId` itself. */
  async encapsulationInUse(cid: string, callId: string): Promise<string | undefined> {
    const drawn = (await this.redis.hrandfield(this.k.vniMembers(cid), 3, 'WITHVALUES')) as string[];
    const others = drawn.filter((_, i) => i % 2 === 1).map((raw) => JSON.parse(raw) as Member);
    const other = others.find((m) => m.callId !== callId);
    if (other || drawn.length < 6) return other?.encapsulation;
    return (await this.members(cid)).find((m) => m.callId !== callId)?.encapsulation;
  }

  async holder(cid: string, mac: string): Promise<Member | null> {
    const raw = await this.redis.hget(this.k.vniMembers(cid), mac);
    return raw ? (JSON.parse(raw) as Member) : null;
  }

  /** Adds the member; returns the member of another session that holds the MAC instead, if any. */
  async add(cid: string, m: Member): Promise<Member | null> {
    const r = (await evalLua(this.redis, ADD, 4, ...this.keys4(cid), m.mac, JSON.stringify(m), m.callId, cid, m.vtep)) as string;
    return r ? (JSON.parse(r) as Member) : null;
  }

  /** The session ends: every MAC it holds in the CID goes (its first one and those INFO added). */
  async remove(cid: string, _mac: string, callId: string): Promise<boolean> {
    return Number(await evalLua(this.redis, REMOVE, 4, ...this.keys4(cid), callId, cid, '*')) > 0;
  }

  /** INFO delete: these MACs of the session go; MACs of other sessions are left alone. */
  async removeMacs(cid: string, macs: readonly string[], callId: string): Promise<number> {
    if (macs.length === 0) return 0;
    return Number(await evalLua(this.redis, REMOVE, 4, ...this.keys4(cid), callId, cid, macs.join(',')));
  }

  /** REFER: every MAC of the session now sits behind `vtep` of `nve`, in one numbered change. */
  async move(cid: string, callId: string, vtep: string, nve: string): Promise<number> {
    return Number(await evalLua(this.redis, MOVE, 4, ...this.keys4(cid), callId, vtep, nve));
  }

  /** A VTEP that joins the VNI's flood list before any MAC sits behind it (or leaves it). */
  async flood(cid: string, vtep: string, op: 'add' | 'remove'): Promise<number> {
    return Number(await evalLua(this.redis, FLOOD, 4, this.v.floods(cid), this.k.vniMemberIndex, this.v.rev(cid), this.v.log(cid), vtep, op));
  }

  async revision(cid: string): Promise<number> {
    return Number((await this.redis.get(this.v.rev(cid))) ?? 0);
  }

  /** Entries (from, to]; null when the log no longer reaches back to from+1 (send the table instead). */
  async entries(cid: string, from: number, to = Number.MAX_SAFE_INTEGER): Promise<TableEntry[] | null> {
    if (to <= from) return [];
    const raw = await this.redis.zrangebyscore(this.v.log(cid), `(${from}`, to === Number.MAX_SAFE_INTEGER ? '+inf' : to);
    const out = raw.map(parseEntry);
    if (out.length === 0 || out[0]!.revision !== from + 1) return (await this.revision(cid)) <= from ? [] : null;
    return out;
  }

  /** The table, its joining VTEPs and its revision, read in one MULTI so they belong together. */
  async snapshot(cid: string): Promise<TableSnapshot> {
    const r = await this.redis.multi().hgetall(this.k.vniMembers(cid)).smembers(this.v.floods(cid)).get(this.v.rev(cid)).exec();
    const all = (r?.[0]?.[1] ?? {}) as Record<string, string>;
    const table = Object.values(all)
      .map((raw) => JSON.parse(raw) as Member)
      .map((m) => ({ mac: m.mac, vtep: m.vtep }))
      .sort((a, b) => (a.mac < b.mac ? -1 : 1));
    return { revision: Number(r?.[2]?.[1] ?? 0), table, floods: ((r?.[1]?.[1] ?? []) as string[]).sort() };
  }

  /** Claims the entries nobody has fanned out yet: (from, to]. Every entry is claimed by one caller. */
  async claimFanout(cid: string): Promise<{ from: number; to: number }> {
    const [from, to] = (await evalLua(this.redis, CLAIM, 2, this.v.fanout(cid), this.v.rev(cid))) as [number, number];
    return { from: Number(from), to: Number(to) };
  }

  async recordAck(cid: string, nve: string, revision: number): Promise<void> {
    await evalLua(this.redis, ACK, 1, this.v.ack(cid), nve, revision);
  }

  /** NVE → acknowledged revision, for every NVE that acknowledged any. */
  async acks(cid: string): Promise<Record<string, number>> {
    const h = await this.redis.hgetall(this.v.ack(cid));
    return Object.fromEntries(Object.entries(h).map(([n, r]) => [n, Number(r)]));
  }

  async cids(): Promise<string[]> {
    return (await this.redis.smembers(this.k.vniMemberIndex)).sort();
  }
}

function parseEntry(member: string): TableEntry {
  const i = member.indexOf(':');
  return { revision: Number(member.slice(0, i)), ...(JSON.parse(member.slice(i + 1)) as Omit<TableEntry, 'revision'>) };
}

export function macTable(members: readonly Member[]): { mac: string; vtep: string }[] {
  return members.map((m) => ({ mac: m.mac, vtep: m.vtep }));
}
