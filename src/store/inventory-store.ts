// The inventory in Redis: one hash per kind (id → canonical JSON) and the settings in a key of
// their own. Every write validates the input, then checks the references and what is in use
// inside one optimistic transaction, so two processes can never leave a pod pointing at a deleted
// device, and an error leaves Redis exactly as it was. A device write also keeps the VTEP index
// (vtep-owners.ts) in the same MULTI.
import type { ChainableCommander, Redis } from 'ioredis';
import { NvoError, conflict, notFound, type FieldIssue } from '../errors.ts';
import { stableJson } from '../model/device-config.ts';
import {
  INVENTORY_KINDS,
  KIND_INFO,
  idOf,
  inventoryIssues,
  inventorySchema,
  mappingIssues,
  podIssues,
  podsUsingDevice,
  type EntityOf,
  type Inventory,
  type InventoryKind,
  type InventoryView,
} from '../model/inventory.ts';
import type { CidMapping } from '../model/cid-mapping.ts';
import type { Device } from '../model/device.ts';
import { REDACTED, hasRedactedSecret, restoreDeviceSecrets } from '../model/device-secrets.ts';
import type { Pod } from '../model/pod.ts';
import { defaultSettings, settingsSchema, type Settings } from '../model/settings.ts';
import type { Tenant } from '../model/tenant.ts';
import { naturalCompare } from '../model/natural-order.ts';
import { formatPath, invalidInput, parseInput } from '../model/validate.ts';
import { keys, type Keys } from './keys.ts';
import { connectRedis, keyPrefix } from './redis.ts';
import { TxRunner, type Tx } from './redis-tx.ts';
import { claimDocumentVteps, claimVtep, releaseVtep } from './vtep-owners.ts';

export type ChangeAction = 'created' | 'replaced' | 'deleted';
export interface Change {
  kind: InventoryKind | 'settings';
  id: string;
  action: ChangeAction;
}

const canon = (value: unknown) => stableJson(value);

export interface InventoryStoreOptions {
  /** Rules the layers above add without the store importing them (the dialect registry): issues with paths relative to the device. */
  deviceRules?: (device: Device) => FieldIssue[];
}

function maskWithoutSecret(field: string): NvoError {
  return invalidInput('device', [{ field, reason: `'${REDACTED}' is the mask the CLI prints for a password; it keeps a stored one, and this device has none: give the password` }]);
}

function conflictOn(field: string, message: string, details: Record<string, unknown> = {}): NvoError {
  return new NvoError('conflict', message, [{ field, reason: message }], details);
}

export class InventoryStore {
  readonly k: Keys;
  private readonly tx: TxRunner;

  constructor(
    readonly redis: Redis,
    prefix: string = keyPrefix(),
    private readonly opts: InventoryStoreOptions = {},
  ) {
    this.k = keys(prefix);
    this.tx = new TxRunner(redis);
  }

  /** A store on its own connection (REDIS_URL, NVO_PREFIX); `close()` ends it. */
  static open(opts: InventoryStoreOptions & { url?: string; prefix?: string; name?: string; maxRetriesPerRequest?: number } = {}): InventoryStore {
    const redis = connectRedis(opts.url, { name: opts.name ?? 'nvo-inventory', maxRetriesPerRequest: opts.maxRetriesPerRequest });
    // Failures reach the caller through the rejected commands; without a listener ioredis prints each one.
    redis.on('error', () => undefined);
    const store = new InventoryStore(redis, opts.prefix, opts);
    store.owned = true;
    return store;
  }
  private owned = false;

  async close(): Promise<void> {
    await this.tx.close();
    if (!this.owned) return;
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  // ---- reads ----

  async get<K extends InventoryKind>(kind: K, id: string): Promise<EntityOf[K] | null> {
    const raw = await this.redis.hget(this.k.inventory(kind), id);
    return raw ? decode(kind, raw) : null;
  }

  /** Like `get`, but a missing entity is a `not-found` error. */
  async show<K extends InventoryKind>(kind: K, id: string): Promise<EntityOf[K]> {
    const found = await this.get(kind, id);
    if (!found) throw notFound(KIND_INFO[kind].what, id);
    return found;
  }

  getTenant = (cid: string): Promise<Tenant | null> => this.get('tenant', cid);
  getDevice = (id: string): Promise<Device | null> => this.get('device', id);
  getPod = (id: string): Promise<Pod | null> => this.get('pod', id);
  getMapping = (cid: string): Promise<CidMapping | null> => this.get('vni', cid);

  async list<K extends InventoryKind>(kind: K): Promise<EntityOf[K][]> {
    const all = await this.redis.hgetall(this.k.inventory(kind));
    return Object.keys(all)
      .sort(naturalCompare)
      .map((id) => decode(kind, all[id]!));
  }

  async getSettings(): Promise<Settings> {
    const raw = await this.redis.get(this.k.settings);
    return raw ? (JSON.parse(raw) as Settings) : defaultSettings();
  }

  /** The pod whose ToR pair includes this device, or null (gateways serve pods without belonging to one). */
  async podOfDevice(id: string): Promise<Pod | null> {
    return (await this.list('pod')).find((p) => p.tors.includes(id)) ?? null;
  }

  /** Every pod that names the device, as a ToR or as one of its gateways. */
  async podsUsing(id: string): Promise<Pod[]> {
    return podsUsingDevice(id, await this.list('pod'));
  }

  /** The whole inventory as a document `apply` accepts. */
  async export(): Promise<Inventory> {
    const [settings, tenants, devices, pods, vnis] = await Promise.all([this.getSettings(), this.list('tenant'), this.list('device'), this.list('pod'), this.list('vni')]);
    return { settings, tenants, devices, pods, vnis };
  }

  // ---- single writes ----

  async create<K extends InventoryKind>(kind: K, input: unknown): Promise<EntityOf[K]> {
    const info = KIND_INFO[kind];
    const entity = this.parse(kind, input);
    const id = idOf(kind, entity);
    const hash = this.k.inventory(kind);
    return this.tx.run(async (tx) => {
      await tx.watch(hash);
      if (await tx.conn.hexists(hash, id)) throw conflictOn(info.idField, `${info.what} '${id}' already exists`, { kind, id });
      if (kind === 'device' && hasRedactedSecret(entity as Device)) throw maskWithoutSecret('management.password');
      const index = await this.checkWrite(tx, kind, entity, null);
      return { result: entity, write: (m) => (m.hset(hash, id, canon(entity)), index?.(m)) };
    });
  }

  /** Replaces an entity; the id comes from `id` (the body may repeat it, but not rename). */
  async replace<K extends InventoryKind>(kind: K, id: string, input: unknown): Promise<EntityOf[K]> {
    const info = KIND_INFO[kind];
    let body = input;
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const given = (body as Record<string, unknown>)[info.idField];
      if (given !== undefined && given !== id) throw invalidInput(info.what, [{ field: info.idField, reason: `'${String(given)}' differs from '${id}' in the path; ids cannot be renamed` }]);
      body = { ...body, [info.idField]: id };
    }
    const entity = this.parse(kind, body);
    const hash = this.k.inventory(kind);
    return this.tx.run(async (tx) => {
      await tx.watch(hash);
      const raw = await tx.conn.hget(hash, id);
      if (!raw) throw notFound(info.what, id);
      const previous = JSON.parse(raw) as EntityOf[K];
      const saved = kind === 'device' ? (restoreDeviceSecrets(entity as Device, previous as Device) as EntityOf[K] | null) : entity;
      if (!saved) throw maskWithoutSecret('management.password');
      const index = await this.checkWrite(tx, kind, saved, previous);
      const json = canon(saved);
      return { result: saved, write: json === raw ? undefined : (m) => (m.hset(hash, id, json), index?.(m)) };
    });
  }

  async remove(kind: InventoryKind, id: string): Promise<void> {
    const info = KIND_INFO[kind];
    const hash = this.k.inventory(kind);
    await this.tx.run(async (tx) => {
      await tx.watch(hash);
      const raw = await tx.conn.hget(hash, id);
      if (!raw) throw notFound(info.what, id);
      await this.checkReferencedBy(tx, kind, id);
      const busy = await this.inUse(tx, kind, id);
      if (busy) throw conflict(busy, { kind, id });
      const index = kind === 'device' ? await releaseVtep(tx, this.k, { kind: 'device', id }, (JSON.parse(raw) as Device).vtep) : undefined;
      return { result: undefined, write: (m) => (m.hdel(hash, id), index?.(m)) };
    });
  }

  async setSettings(input: unknown): Promise<Settings> {
    const settings = parseInput(settingsSchema, input, 'settings');
    await this.redis.set(this.k.settings, canon(settings));
    return settings;
  }

  // ---- apply: make the store match a whole document ----

  async apply(input: unknown, opts: { dryRun?: boolean } = {}): Promise<Change[]> {
    const doc = parseInput(inventorySchema, input, 'inventory');
    const issues = [...doc.devices.flatMap((d, i) => this.deviceRules(d, ['devices', i])), ...inventoryIssues(doc)];
    if (issues.length) throw invalidInput('inventory', issues);
    const settings = doc.settings ?? defaultSettings();
    return this.tx.run(async (tx) => {
      await tx.watch(this.k.settings, ...INVENTORY_KINDS.map((kind) => this.k.inventory(kind)));
      const changes: Change[] = [];
      const writes: ((m: ChainableCommander) => void)[] = [];
      const rawSettings = await tx.conn.get(this.k.settings);
      if ((rawSettings ?? canon(defaultSettings())) !== canon(settings)) {
        changes.push({ kind: 'settings', id: 'settings', action: rawSettings ? 'replaced' : 'created' });
        writes.push((m) => m.set(this.k.settings, canon(settings)));
      }
      const index = await claimDocumentVteps(tx, this.k, doc.devices, KIND_INFO.device.section);
      for (const kind of INVENTORY_KINDS) {
        const hash = this.k.inventory(kind);
        const stored = await tx.conn.hgetall(hash);
        const section = doc[KIND_INFO[kind].section] as EntityOf[typeof kind][];
        const wanted = new Map(
          section.map((e, i) => {
            // A masked secret (`nvo export` without --show-secrets, edited and applied) keeps the stored one.
            const have = stored[idOf(kind, e)];
            const entity = kind === 'device' ? (restoreDeviceSecrets(e as Device, have ? (JSON.parse(have) as Device) : null) as typeof e | null) : e;
            if (!entity) throw maskWithoutSecret(`${KIND_INFO[kind].section}[${i}].management.password`);
            return [idOf(kind, entity), { json: canon(entity), entity, index: i }];
          }),
        );
        for (const id of [...new Set([...Object.keys(stored), ...wanted.keys()])].sort()) {
          const want = wanted.get(id);
          const have = stored[id];
          if (!want) {
            const busy = await this.inUse(tx, kind, id);
            if (busy) throw conflict(`cannot delete: ${busy}`, { kind, id });
            changes.push({ kind, id, action: 'deleted' });
            writes.push((m) => m.hdel(hash, id));
          } else if (want.json !== have) {
            if (kind === 'vni') await this.checkVni(tx, want.entity as CidMapping, `${KIND_INFO.vni.section}[${want.index}].vni`);
            if (kind === 'pod' && have !== undefined) await this.checkPodChange(tx, JSON.parse(have) as Pod, want.entity as Pod, `${KIND_INFO.pod.section}[${want.index}].`);
            changes.push({ kind, id, action: have === undefined ? 'created' : 'replaced' });
            writes.push((m) => m.hset(hash, id, want.json));
          }
        }
      }
      // The index follows the device set in the same MULTI (only when something is written at all).
      const write = opts.dryRun || writes.length === 0 ? undefined : (m: ChainableCommander) => [...writes, index].forEach((w) => w(m));
      return { result: changes, write };
    });
  }

  // ---- rules ----

  private parse<K extends InventoryKind>(kind: K, input: unknown): EntityOf[K] {
    const info = KIND_INFO[kind];
    const entity = parseInput(info.schema, input, info.what) as EntityOf[K];
    if (kind === 'device') {
      const issues = this.deviceRules(entity as Device, []);
      if (issues.length) throw invalidInput(info.what, issues);
    }
    return entity;
  }

  private deviceRules(device: Device, at: PropertyKey[]): FieldIssue[] {
    return (this.opts.deviceRules?.(device) ?? []).map((i) => ({ ...i, field: formatPath([...at, ...splitPath(i.field)]) }));
  }

  private async view(tx: Tx, which: (keyof InventoryView)[]): Promise<InventoryView> {
    const out: Record<keyof InventoryView, Map<string, unknown>> = { tenants: new Map(), devices: new Map(), pods: new Map(), vnis: new Map() };
    const kindOf = { tenants: 'tenant', devices: 'device', pods: 'pod', vnis: 'vni' } as const;
    for (const w of which) {
      const hash = this.k.inventory(kindOf[w]);
      await tx.watch(hash);
      for (const [id, raw] of Object.entries(await tx.conn.hgetall(hash))) out[w].set(id, JSON.parse(raw));
    }
    return out as unknown as InventoryView;
  }

  /** Checks a single write; for a device, returns the VTEP index writes to queue with it. */
  private async checkWrite<K extends InventoryKind>(tx: Tx, kind: K, entity: EntityOf[K], previous: EntityOf[K] | null): Promise<((m: ChainableCommander) => void) | undefined> {
    let index: ((m: ChainableCommander) => void) | undefined;
    if (kind === 'device') {
      const device = entity as Device;
      index = await claimVtep(tx, this.k, this.tx, { kind: 'device', id: device.id }, device.vtep, (previous as Device | null)?.vtep);
    }
    if (kind === 'pod') {
      const pod = entity as Pod;
      const inv = await this.view(tx, ['devices', 'pods']);
      (inv.pods as Map<string, Pod>).set(pod.id, pod);
      const issues = podIssues(pod, inv);
      if (issues.length) throw invalidInput('pod', issues);
      if (previous) await this.checkPodChange(tx, previous as Pod, pod, '');
    } else if (kind === 'vni') {
      const m = entity as CidMapping;
      const inv = await this.view(tx, ['tenants', 'vnis']);
      const issues = mappingIssues(m, inv);
      if (issues.length) throw invalidInput(KIND_INFO.vni.what, issues);
      const other = [...inv.vnis.values()].find((o) => o.cid !== m.cid && m.vni !== undefined && o.vni === m.vni);
      if (other) throw conflictOn('vni', `VNI ${m.vni} is already given to CID '${other.cid}'`, { vni: m.vni, cid: other.cid });
      await this.checkVni(tx, m, 'vni');
    } else if (kind === 'device' && previous && (previous as Device).role !== (entity as Device).role) {
      const device = entity as Device;
      const pods = podsUsingDevice(device.id, (await this.view(tx, ['pods'])).pods.values());
      if (pods.length) {
        throw conflictOn('role', `device '${device.id}' is listed by pod '${pods[0]!.id}'; its role cannot change from ${(previous as Device).role} to ${device.role}`, { pods: pods.map((p) => p.id) });
      }
    }
    return index;
  }

  /** A given VNI must not be one the allocator handed to another CID, nor differ from the one this CID holds. */
  private async checkVni(tx: Tx, m: CidMapping, field: string): Promise<void> {
    if (m.vni === undefined) return;
    await tx.watch(this.k.vniOwner, this.k.vniByCid);
    const [owner, held] = await Promise.all([tx.conn.hget(this.k.vniOwner, String(m.vni)), tx.conn.hget(this.k.vniByCid, m.cid)]);
    if (owner && owner !== m.cid) throw conflictOn(field, `VNI ${m.vni} is in use by CID '${owner}'`, { vni: m.vni, cid: owner });
    if (held && Number(held) !== m.vni) {
      throw conflictOn(field, `CID '${m.cid}' is using VNI ${held}; it changes only when its sessions are gone`, { vni: Number(held) });
    }
  }

  // A pod's ToRs and gateways hold its sessions' configuration, and nothing moves that configuration
  // when the pod changes under them: a dropped ToR would keep it for good, a new gateway would lack
  // it. So those change only when no session of the pod is left (as a device is deleted only then).
  private async checkPodChange(tx: Tx, before: Pod, after: Pod, at: string): Promise<void> {
    for (const tor of before.tors.filter((t) => !after.tors.includes(t))) {
      const busy = await this.sessionsOnDevice(tx, tor);
      if (busy) throw conflictOn(`${at}tors`, `cannot remove ToR '${tor}' from pod '${before.id}': ${busy}`, { pod: before.id, device: tor });
    }
    for (const field of ['wanGateway', 'torGateway'] as const) {
      if (before[field] === after[field]) continue;
      const busy = await this.podSessions(tx, before);
      if (busy) throw conflictOn(`${at}${field}`, `cannot change ${field} of pod '${before.id}' from '${before[field]}' to '${after[field]}': ${busy}`, { pod: before.id, device: before[field] });
    }
  }

  /** The sessions whose configuration a device holds, as a reason, or null. */
  private async sessionsOnDevice(tx: Tx, id: string): Promise<string | null> {
    await tx.watch(this.k.deviceContrib(id));
    const owners = await tx.conn.hlen(this.k.deviceContrib(id));
    return owners > 0 ? `device '${id}' is still used by ${owners} session${owners === 1 ? '' : 's'}` : null;
  }

  /** A pod's sessions: those configured on its ToRs (a gateway's serve other pods too), else its VLANs. */
  private async podSessions(tx: Tx, pod: Pod): Promise<string | null> {
    const owners = new Set<string>();
    for (const tor of pod.tors) {
      await tx.watch(this.k.deviceContrib(tor));
      for (const o of await tx.conn.hkeys(this.k.deviceContrib(tor))) owners.add(o);
    }
    if (owners.size > 0) return `pod '${pod.id}' still has ${owners.size} session${owners.size === 1 ? '' : 's'}`;
    await tx.watch(this.k.vlanUsed(`pod:${pod.id}`));
    const vlans = await tx.conn.bitcount(this.k.vlanUsed(`pod:${pod.id}`));
    return vlans > 0 ? `pod '${pod.id}' still has ${vlans} VLAN${vlans === 1 ? '' : 's'} allocated` : null;
  }

  /** Inventory entities that name this one (a pod naming a device, a mapping naming a tenant). */
  private async checkReferencedBy(tx: Tx, kind: InventoryKind, id: string): Promise<void> {
    if (kind === 'device') {
      const pods = podsUsingDevice(id, (await this.view(tx, ['pods'])).pods.values()).map((p) => p.id).sort();
      if (pods.length) throw conflict(`device '${id}' is still listed by pod${pods.length > 1 ? 's' : ''} '${pods.join("', '")}'`, { pods });
    } else if (kind === 'tenant') {
      const hash = this.k.inventory('vni');
      await tx.watch(hash);
      if (await tx.conn.hexists(hash, id)) throw conflict(`tenant '${id}' still has a CID mapping; delete it first`, { mapping: id });
    }
  }

  /** Run-time use the allocator and the sessions record: a reason to refuse deletion, or null. */
  private async inUse(tx: Tx, kind: InventoryKind, id: string): Promise<string | null> {
    const k = this.k;
    if (kind === 'device') {
      const sessions = await this.sessionsOnDevice(tx, id);
      if (sessions) return sessions;
      await tx.watch(k.vlanUsed(`dev:${id}`));
      const vlans = await tx.conn.bitcount(k.vlanUsed(`dev:${id}`));
      if (vlans > 0) return `device '${id}' still has ${vlans} VLAN${vlans === 1 ? '' : 's'} allocated`;
    } else if (kind === 'pod') {
      await tx.watch(k.vlanUsed(`pod:${id}`));
      const vlans = await tx.conn.bitcount(k.vlanUsed(`pod:${id}`));
      if (vlans > 0) return `pod '${id}' still has ${vlans} VLAN${vlans === 1 ? '' : 's'} allocated`;
    } else {
      await tx.watch(k.cidPods(id), k.vniByCid);
      const pods = await tx.conn.scard(k.cidPods(id));
      if (pods > 0) return `CID '${id}' still holds VLANs in ${pods} pod${pods === 1 ? '' : 's'}`;
      if (kind === 'tenant' && (await tx.conn.hexists(k.vniByCid, id))) return `CID '${id}' still holds a VNI`;
    }
    return null;
  }
}

/** Stored JSON has sorted keys (canonical, for comparison); people and clients get the schema's order. */
function decode<K extends InventoryKind>(kind: K, raw: string): EntityOf[K] {
  const value: unknown = JSON.parse(raw);
  const r = KIND_INFO[kind].schema.safeParse(value);
  return (r.success ? r.data : value) as EntityOf[K];
}

/** `a.b[2].c` → ['a', 'b', 2, 'c'], so a rule's relative path can be put under a document path. */
function splitPath(field: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
