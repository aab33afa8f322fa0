// The allocator's Lua scripts. Each runs atomically inside Redis, which is what makes allocation
// safe across any number of proxy processes without locks.

// firstClear(key, from, to): the lowest bit in [from, to] that is 0, or -1. Bits past the end of the
// string are 0 (BITPOS with an explicit end does not pad, so handle that part here).
const FIRST_CLEAR = `
local function firstClear(key, from, to)
  local len = redis.call('STRLEN', key) * 8
  if from >= len then return from end
  local p = redis.call('BITPOS', key, 0, from, math.min(to, len - 1), 'BIT')
  if p ~= -1 and p <= to then return p end
  if to >= len then return len end
  return -1
end
local function firstClearIn(key, ranges)
  for from, to in string.gmatch(ranges, '(%d+)-(%d+)') do
    local p = firstClear(key, tonumber(from), tonumber(to))
    if p ~= -1 then return p end
  end
  return -1
end
`;

// A VLAN binds a CID on a pod. It must be free in every pool at once (the pod's, the WAN gateway's,
// the ToR gateway's). A gateway serves several pods, and on one device a VNI maps to one VLAN: when
// the CID already has a VLAN at one of the pools (through another pod), that VLAN is the only choice.
// Per pool: a bitmap of VLANs in use, a hash CID → VLAN, and a hash CID → number of pods using it.
//
// Input: KEYS[1] binding hash (cid, pod), KEYS[2] users set, KEYS[3] cid-pods set, KEYS[4] scratch,
//        then per pool three keys: used bitmap, CID → VLAN hash, CID → pod-count hash
//        ARGV[1] user, ARGV[2] pod id, ARGV[3] cid, ARGV[4] candidate ranges "a-b,c-d" (the pools'
//        intersection), ARGV[5] pool names (stored so that release frees exactly these pools)
// Output: {vlan, 1} newly bound, {vlan, 0} existing binding reused, {-1, 0} nothing free,
//         {-5, vlan, pool index} the CID holds `vlan` at that pool but it is taken at another one
export const ACQUIRE_VLAN = `${FIRST_CLEAR}
local bound = redis.call('HGET', KEYS[1], 'vlan')
if bound then
  redis.call('SADD', KEYS[2], ARGV[1])
  return {tonumber(bound), 0}
end
local cid = ARGV[3]
local n = (#KEYS - 4) / 3
local used, byCid, refs = {}, {}, {}
for i = 1, n do
  used[i] = KEYS[4 + 3 * i - 2]; byCid[i] = KEYS[4 + 3 * i - 1]; refs[i] = KEYS[4 + 3 * i]
end
local held = {}
local want = nil
for i = 1, n do
  held[i] = redis.call('HGET', byCid[i], cid)
  if held[i] and not want then want = tonumber(held[i]) end
end
local vlan = -1
if want then
  for i = 1, n do
    if held[i] and tonumber(held[i]) ~= want then return {-5, want, i} end
    if not held[i] and redis.call('GETBIT', used[i], want) == 1 then return {-5, want, i} end
  end
  vlan = want
else
  redis.call('BITOP', 'OR', KEYS[4], unpack(used))
  vlan = firstClearIn(KEYS[4], ARGV[4])
  redis.call('DEL', KEYS[4])
  if vlan == -1 then return {-1, 0} end
end
for i = 1, n do
  redis.call('SETBIT', used[i], vlan, 1)
  redis.call('HSET', byCid[i], cid, vlan)
  redis.call('HINCRBY', refs[i], cid, 1)
end
redis.call('HSET', KEYS[1], 'vlan', vlan, 'pools', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return {vlan, 1}
`;

// Input: KEYS[1] binding hash, KEYS[2] users set, KEYS[3] cid-pods set, then per pool the three keys
//        as above; ARGV[1] user, ARGV[2] pod id, ARGV[3] cid, ARGV[4] pool names read from the binding
// Output: {vlan, 1} the binding is gone, {vlan, 0} still used by others, {-1, 0} no binding,
//         {-2, 0} the binding's pools changed since the caller read them (read again and retry)
export const RELEASE_VLAN = `
local vlan = redis.call('HGET', KEYS[1], 'vlan')
if not vlan then return {-1, 0} end
if redis.call('HGET', KEYS[1], 'pools') ~= ARGV[4] then return {-2, 0} end
redis.call('SREM', KEYS[2], ARGV[1])
if redis.call('SCARD', KEYS[2]) > 0 then return {tonumber(vlan), 0} end
local cid = ARGV[3]
for i = 1, (#KEYS - 3) / 3 do
  local used, byCid, refs = KEYS[3 + 3 * i - 2], KEYS[3 + 3 * i - 1], KEYS[3 + 3 * i]
  if redis.call('HINCRBY', refs, cid, -1) <= 0 then
    redis.call('HDEL', refs, cid)
    redis.call('HDEL', byCid, cid)
    redis.call('SETBIT', used, tonumber(vlan), 0)
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[2])
return {tonumber(vlan), 1}
`;

// Input: KEYS[1] used bitmap, KEYS[2] cid → value hash, KEYS[3] value → cid hash,
//        KEYS[4] users set (optional: values with users are held until the last one releases)
//        ARGV[1] cid, ARGV[2] the value asked for, or '' to take the lowest free in ARGV[3]
//        ARGV[3] candidate ranges "a-b,c-d", ARGV[4] user (with KEYS[4])
// Output: {value, 1} newly taken, {value, 0} the CID already had it, {-1, 0} none free,
//         {-3, owner} the asked-for value belongs to another CID, {-4, current} the CID has another value
export const ACQUIRE_KEYED = `${FIRST_CLEAR}
local have = redis.call('HGET', KEYS[2], ARGV[1])
if have then
  if ARGV[2] ~= '' and ARGV[2] ~= have then return {-4, have} end
  if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[4]) end
  return {tonumber(have), 0}
end
local v
if ARGV[2] ~= '' then
  v = tonumber(ARGV[2])
  if redis.call('GETBIT', KEYS[1], v) == 1 then
    local owner = redis.call('HGET', KEYS[3], ARGV[2]) or '?'
    return {-3, owner}
  end
else
  v = firstClearIn(KEYS[1], ARGV[3])
  if v == -1 then return {-1, 0} end
end
redis.call('SETBIT', KEYS[1], v, 1)
redis.call('HSET', KEYS[2], ARGV[1], v)
redis.call('HSET', KEYS[3], v, ARGV[1])
if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[4]) end
return {v, 1}
`;

// Input: KEYS[1] used bitmap, KEYS[2] cid → value hash, KEYS[3] value → cid hash, KEYS[4] users (optional)
//        ARGV[1] cid, ARGV[2] user (with KEYS[4])
// Output: {value, 1} released, {value, 0} still held by other users, {-1, 0} the CID had none
export const RELEASE_KEYED = `
local have = redis.call('HGET', KEYS[2], ARGV[1])
if not have then return {-1, 0} end
if KEYS[4] then
  redis.call('SREM', KEYS[4], ARGV[2])
  if redis.call('SCARD', KEYS[4]) > 0 then return {tonumber(have), 0} end
end
redis.call('SETBIT', KEYS[1], tonumber(have), 0)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], have)
return {tonumber(have), 1}
`;
