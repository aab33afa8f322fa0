// What the overview reads, in one place: the inventory, the hNVE store, the registrar, sessions,
// VNI membership, allocations and device state — all in Redis, so any process (a proxy, `nvo serve`,
// the CLI) shows the same whole overlay. Filters are checked here once for every view.
import type { Redis } from 'ioredis';
import { Allocator } from '../../alloc/allocator.ts';
import { invalid } from '../../errors.ts';
import type { CidMapping } from '../../model/cid-mapping.ts';
import type { Device } from '../../model/device.ts';
import type { Tenant } from '../../model/tenant.ts';
import { DeviceStateStore } from '../../store/device-state.ts';
import type { Keys } from '../../store/keys.ts';
import { NveStore, type PodReader } from '../../store/nve-store.ts';
import { Membership } from '../network/membership.ts';
import { Registrar } from '../tenant/registrar.ts';
import { Sessions } from '../tenant/sessions.ts';
import { redisAckSource, type AckSource } from './ack-source.ts';

export interface InventoryLister extends PodReader {
  list(kind: 'device'): Promise<Device[]>;
  list(kind: 'tenant'): Promise<Tenant[]>;
  list(kind: 'vni'): Promise<CidMapping[]>;
  getMapping(cid: string): Promise<CidMapping | null>;
}

export interface ViewFilter {
  /** Only this VNI (its CID). */
  vni?: number;
  /** Only this tenant (CID). */
  tenant?: string;
}

export class ViewSources {
  readonly nves: NveStore;
  readonly registrar: Registrar;
  readonly sessions: Sessions;
  readonly members: Membership;
  readonly alloc: Allocator;
  readonly state: DeviceStateStore;

  constructor(
    readonly redis: Redis,
    readonly k: Keys,
    readonly inventory: InventoryLister,
    readonly acks: AckSource = redisAckSource(redis, k),
  ) {
    this.nves = new NveStore(redis, k, inventory);
    this.registrar = new Registrar(redis, k);
    this.sessions = new Sessions(redis, k);
    this.members = new Membership(redis, k);
    this.alloc = new Allocator(redis, k);
    this.state = new DeviceStateStore(redis, k);
  }

  /** The CID that holds a VNI, or null. */
  async cidOfVni(vni: number): Promise<string | null> {
    const owner = await this.redis.hget(this.k.vniOwner, String(vni));
    if (owner !== null) return owner;
    // Given in a CID mapping but not taken yet (no session so far): still the tenant's VNI.
    return (await this.inventory.list('vni')).find((m) => m.vni === vni)?.cid ?? null;
  }

  /** A tenant's VNI: allocated, or given by its CID mapping; null when it has neither yet. */
  async vniOfCid(cid: string): Promise<number | null> {
    return (await this.alloc.vniOf(cid)) ?? (await this.inventory.getMapping(cid))?.vni ?? null;
  }

  /** The VNI a MAC view is for: `vni`, or the tenant's; a clear error naming the option when neither says. */
  async macViewVni(f: ViewFilter, names: { vni: string; tenant: string }): Promise<number> {
    if (f.vni !== undefined) return f.vni;
    if (f.tenant === undefined) throw invalid(names.vni, `is required (or ${names.tenant})`);
    const vni = await this.vniOfCid(f.tenant);
    if (vni === null) throw invalid(names.tenant, `tenant '${f.tenant}' has no VNI yet (none given in its CID mapping, none allocated)`);
    return vni;
  }

  /** The CIDs a filter selects among `all`; a VNI nobody holds selects none. */
  async cids(all: readonly string[], f: ViewFilter): Promise<string[]> {
    let out = [...all];
    if (f.tenant !== undefined) out = out.filter((c) => c === f.tenant);
    if (f.vni !== undefined) {
      const cid = await this.cidOfVni(f.vni);
      out = out.filter((c) => c === cid);
    }
    return out;
  }

  async matches(cid: string, f: ViewFilter): Promise<boolean> {
    return (await this.cids([cid], f)).length === 1;
  }
}

/** `--vni` / `?vni=`: a whole number 1..16777215 (24-bit VNI, RFC 7348 §5). */
export function parseVniFilter(v: unknown, field = 'vni'): number | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 16_777_215)) throw invalid(field, `'${s}' is not a VNI (1-16777215)`);
  return n;
}
