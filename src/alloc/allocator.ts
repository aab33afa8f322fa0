// The resource allocator: VLANs per (CID, pod) from the intersection of several pools, VNIs per CID,
// NG-MVPN multicast groups per CID per gateway. Every decision is one Lua call (src/alloc/scripts.ts),
// so any number of processes can allocate at once and no value is ever handed out twice.
//
// Choice rule: the lowest free value (VLANs: in the intersection of the pools; VNIs: in the pool;
// groups: the lowest address of the gateway's pool). Lowest-free keeps allocations dense and
// predictable for people reading device configs; a released value is the next one handed out.
import type { Redis } from 'ioredis';
import { NvoError, conflict } from '../errors.ts';
import type { Keys } from '../store/keys.ts';
import { cidrAddress, cidrSize, formatRange, intersectRanges, parseCidr, rangesFromStrings, type Cidr, type Range } from '../model/net.ts';
import { ACQUIRE_KEYED, ACQUIRE_VLAN, RELEASE_KEYED, RELEASE_VLAN } from './scripts.ts';
import { evalLua } from '../store/lua.ts';

/** One VLAN pool: `pod:<id>` or `dev:<id>`, how to name it to people, and its ranges ("100-199"). */
export interface VlanPool {
  name: string;
  label: string;
  ranges: readonly string[];
}

export interface VlanRequest {
  cid: string;
  pod: string;
  /** Who holds the binding (a session or VM); the VLAN is released when the last user lets go. */
  user: string;
  pools: readonly VlanPool[];
}

type Reply = [number, number | string, number?];

// Largest pool of groups one gateway may declare; keeps the bitmap small.
const MAX_GROUPS = 1 << 20;

export class Allocator {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  private run(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return evalLua(this.redis, script, keys.length, ...keys, ...args);
  }

  private poolKeys(pools: readonly string[]): string[] {
    return pools.flatMap((p) => [this.k.vlanUsed(p), this.k.vlanByCid(p), this.k.vlanRefs(p)]);
  }

  /** One VLAN free in every pool for (cid, pod), or the one the pair already has. Idempotent per user. */
  async acquireVlan(req: VlanRequest): Promise<{ vlan: number; created: boolean }> {
    if (req.pools.length === 0) throw new NvoError('internal', 'acquireVlan needs at least one pool');
    const common = req.pools.map((p) => rangesFromStrings(p.ranges)).reduce((a, b) => intersectRanges(a, b));
    const names = req.pools.map((p) => p.name);
    const r = (await this.run(
      ACQUIRE_VLAN,
      [this.k.vlanBinding(req.cid, req.pod), this.k.vlanUsers(req.cid, req.pod), this.k.cidPods(req.cid), this.k.allocScratch, ...this.poolKeys(names)],
      [req.user, req.pod, req.cid, common.map((x) => `${x.from}-${x.to}`).join(','), names.join(',')],
    )) as Reply;
    const [vlan, created, where] = r;
    if (vlan >= 0) return { vlan, created: created === 1 };
    const pools = req.pools.map((p) => ({ pool: p.name, label: p.label, ranges: p.ranges }));
    const list = req.pools.map((p) => `${p.label} (${p.ranges.join(',')})`).join(', ');
    if (vlan === -5) {
      const other = req.pools[(where ?? 1) - 1]!;
      throw new NvoError(
        'exhausted',
        `VLAN pool exhausted for CID ${req.cid} on pod ${req.pod}: the CID already uses VLAN ${created} behind the same gateways, and it is not free at ${other.label}`,
        [],
        { resource: 'vlan', cid: req.cid, pod: req.pod, vlan: created, pool: other.name, pools },
      );
    }
    const why = common.length ? `every VLAN of their common range ${common.map(formatRange).join(',')} is in use` : 'they have no VLAN in common';
    throw new NvoError('exhausted', `VLAN pool exhausted for CID ${req.cid} on pod ${req.pod}: no VLAN free in all of ${list}; ${why}`, [], {
      resource: 'vlan',
      cid: req.cid,
      pod: req.pod,
      pools,
    });
  }

  /** Lets one user go; frees the VLAN (in every pool) when it was the last. */
  async releaseVlan(req: { cid: string; pod: string; user: string }): Promise<{ vlan: number | null; freed: boolean }> {
    for (;;) {
      const pools = await this.redis.hget(this.k.vlanBinding(req.cid, req.pod), 'pools');
      if (pools === null) return { vlan: null, freed: false };
      const names = pools.split(',');
      const [vlan, freed] = (await this.run(
        RELEASE_VLAN,
        [this.k.vlanBinding(req.cid, req.pod), this.k.vlanUsers(req.cid, req.pod), this.k.cidPods(req.cid), ...this.poolKeys(names)],
        [req.user, req.pod, req.cid, pools],
      )) as Reply;
      if (vlan === -2) continue; // rebound with other pools between our read and the script: read again
      if (vlan === -1) return { vlan: null, freed: false };
      return { vlan, freed: freed === 1 };
    }
  }

  async vlanOf(cid: string, pod: string): Promise<{ vlan: number; users: string[] } | null> {
    const [vlan, users] = await Promise.all([this.redis.hget(this.k.vlanBinding(cid, pod), 'vlan'), this.redis.smembers(this.k.vlanUsers(cid, pod))]);
    return vlan === null ? null : { vlan: Number(vlan), users: users.sort() };
  }

  async podsOf(cid: string): Promise<string[]> {
    return (await this.redis.smembers(this.k.cidPods(cid))).sort();
  }

  /** The CID's VNI: `given` when the admin fixed one, else the lowest free in `pool`. Idempotent. */
  async acquireVni(cid: string, pool: readonly string[], given?: number): Promise<number> {
    const [v, extra] = (await this.run(ACQUIRE_KEYED, [this.k.vniUsed, this.k.vniByCid, this.k.vniOwner], [cid, given ?? '', rangeArg(rangesFromStrings(pool)), ''])) as Reply;
    if (v >= 0) return v;
    if (v === -3) throw conflict(`VNI ${given} is already used by CID ${extra}`, { resource: 'vni', vni: given, owner: extra });
    if (v === -4) throw conflict(`CID ${cid} already has VNI ${extra}; release it before giving another`, { resource: 'vni', cid, vni: Number(extra) });
    throw new NvoError('exhausted', `VNI pool exhausted: every VNI in ${pool.join(',')} is in use`, [], { resource: 'vni', cid, pool });
  }

  async releaseVni(cid: string): Promise<number | null> {
    const [v] = (await this.run(RELEASE_KEYED, [this.k.vniUsed, this.k.vniByCid, this.k.vniOwner], [cid, ''])) as Reply;
    return v >= 0 ? v : null;
  }

  async vniOf(cid: string): Promise<number | null> {
    const v = await this.redis.hget(this.k.vniByCid, cid);
    return v === null ? null : Number(v);
  }

  /** A multicast group for the CID from an NG-MVPN gateway's pool, held while any user holds it. */
  async acquireGroup(req: { cid: string; device: string; user: string; pool: readonly string[] }): Promise<{ group: string; created: boolean }> {
    const nets = parsePool(req.pool);
    const total = nets.reduce((n, c) => n + Number(cidrSize(c)), 0);
    const [v, created] = (await this.run(
      ACQUIRE_KEYED,
      [this.k.groupUsed(req.device), this.k.groupByCid(req.device), this.k.groupOwner(req.device), this.k.groupUsers(req.device, req.cid)],
      [req.cid, '', `0-${Math.min(total, MAX_GROUPS) - 1}`, req.user],
    )) as Reply;
    if (v < 0) {
      throw new NvoError('exhausted', `multicast group pool exhausted on ${req.device}: every group in ${req.pool.join(',')} is in use`, [], {
        resource: 'group',
        device: req.device,
        cid: req.cid,
        pool: req.pool,
      });
    }
    return { group: groupAt(nets, v), created: created === 1 };
  }

  async releaseGroup(req: { cid: string; device: string; user: string; pool: readonly string[] }): Promise<{ group: string | null; freed: boolean }> {
    const [v, freed] = (await this.run(
      RELEASE_KEYED,
      [this.k.groupUsed(req.device), this.k.groupByCid(req.device), this.k.groupOwner(req.device), this.k.groupUsers(req.device, req.cid)],
      [req.cid, req.user],
    )) as Reply;
    return v >= 0 ? { group: groupAt(parsePool(req.pool), v), freed: freed === 1 } : { group: null, freed: false };
  }
}

function rangeArg(ranges: Range[]): string {
  return ranges.map((r) => `${r.from}-${r.to}`).join(',');
}

function parsePool(pool: readonly string[]): Cidr[] {
  return pool.map((p) => {
    const c = parseCidr(p);
    if (typeof c === 'string') throw new NvoError('internal', `bad multicast pool ${p}: ${c}`);
    return c;
  });
}

/** The i-th address across the pool's prefixes, in the order they are listed. */
function groupAt(nets: readonly Cidr[], i: number): string {
  let rest = BigInt(i);
  for (const c of nets) {
    const size = cidrSize(c);
    if (rest < size) return cidrAddress(c, rest);
    rest -= size;
  }
  throw new NvoError('internal', `group index ${i} outside the pool`);
}

