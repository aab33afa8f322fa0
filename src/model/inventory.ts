// The whole inventory as one declarative document (`nvo apply -f`), and the rules that tie its
// parts together: a pod's ToRs and gateways are devices of the right role, a CID mapping belongs to
// a tenant, a VNI is given to one CID only. The rules are pure functions over plain maps so the
// store can run them on what Redis holds and `apply` can run them on a whole file, with paths either way.
import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import { cidMappingSchema, type CidMapping } from './cid-mapping.ts';
import { deviceSchema, type Device, type DeviceRole } from './device.ts';
import { podSchema, type Pod } from './pod.ts';
import { settingsSchema, type Settings } from './settings.ts';
import { tenantSchema, type Tenant } from './tenant.ts';
import { formatPath } from './validate.ts';

export const INVENTORY_KINDS = ['tenant', 'device', 'pod', 'vni'] as const;
export type InventoryKind = (typeof INVENTORY_KINDS)[number];

export interface EntityOf {
  tenant: Tenant;
  device: Device;
  pod: Pod;
  vni: CidMapping;
}

/** Everything that differs between the kinds, in one table: schema, id field, words, list name in the document. */
export const KIND_INFO = {
  tenant: { schema: tenantSchema, idField: 'cid', what: 'tenant', plural: 'tenants', section: 'tenants' },
  device: { schema: deviceSchema, idField: 'id', what: 'device', plural: 'devices', section: 'devices' },
  pod: { schema: podSchema, idField: 'id', what: 'pod', plural: 'pods', section: 'pods' },
  vni: { schema: cidMappingSchema, idField: 'cid', what: 'CID mapping', plural: 'CID mappings', section: 'vnis' },
} as const satisfies Record<InventoryKind, { schema: z.ZodType; idField: string; what: string; plural: string; section: string }>;

export function idOf<K extends InventoryKind>(kind: K, entity: EntityOf[K]): string {
  return (entity as unknown as Record<string, string>)[KIND_INFO[kind].idField]!;
}

function uniqueBy<T>(items: readonly T[], key: (t: T) => string | undefined, field: string, what: string, ctx: z.RefinementCtx, list: string) {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else ctx.addIssue({ code: 'custom', path: [list, i, field], message: `${what} ${k} is already given in ${list}[${first}]` });
  });
}

export const inventorySchema = z
  .strictObject({
    settings: settingsSchema.optional(),
    tenants: z.array(tenantSchema).default([]),
    devices: z.array(deviceSchema).default([]),
    pods: z.array(podSchema).default([]),
    /** CID → VNI and VRF mappings. */
    vnis: z.array(cidMappingSchema).default([]),
  })
  .superRefine((doc, ctx) => {
    uniqueBy(doc.tenants, (t) => t.cid, 'cid', 'CID', ctx, 'tenants');
    uniqueBy(doc.devices, (d) => d.id, 'id', 'device id', ctx, 'devices');
    uniqueBy(doc.pods, (p) => p.id, 'id', 'pod id', ctx, 'pods');
    uniqueBy(doc.vnis, (m) => m.cid, 'cid', 'CID', ctx, 'vnis');
    uniqueBy(doc.vnis, (m) => (m.vni === undefined ? undefined : String(m.vni)), 'vni', 'VNI', ctx, 'vnis');
  });

export type InventoryInput = z.input<typeof inventorySchema>;
export type Inventory = z.output<typeof inventorySchema>;

/** What the rules need to see: every entity by id. */
export interface InventoryView {
  tenants: ReadonlyMap<string, Tenant>;
  devices: ReadonlyMap<string, Device>;
  pods: ReadonlyMap<string, Pod>;
  vnis: ReadonlyMap<string, CidMapping>;
}

export function viewOf(doc: Pick<Inventory, 'tenants' | 'devices' | 'pods' | 'vnis'>): InventoryView {
  return {
    tenants: new Map(doc.tenants.map((t) => [t.cid, t])),
    devices: new Map(doc.devices.map((d) => [d.id, d])),
    pods: new Map(doc.pods.map((p) => [p.id, p])),
    vnis: new Map(doc.vnis.map((m) => [m.cid, m])),
  };
}

function roleIssue(devices: InventoryView['devices'], id: string, role: DeviceRole, field: PropertyKey[]): FieldIssue | null {
  const d = devices.get(id);
  if (!d) return { field: formatPath(field), reason: `no device '${id}'` };
  if (d.role !== role) return { field: formatPath(field), reason: `device '${id}' has role ${d.role}, not ${role}` };
  return null;
}

/** A pod's references: ToRs are `tor` devices no other pod lists; the gateways have their roles. Paths start at `at`. */
export function podIssues(pod: Pod, inv: InventoryView, at: PropertyKey[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  pod.tors.forEach((tor, i) => {
    const bad = roleIssue(inv.devices, tor, 'tor', [...at, 'tors', i]);
    if (bad) return out.push(bad);
    const other = [...inv.pods.values()].find((p) => p.id !== pod.id && p.tors.includes(tor));
    if (other) out.push({ field: formatPath([...at, 'tors', i]), reason: `ToR '${tor}' already belongs to pod '${other.id}'` });
  });
  const wan = roleIssue(inv.devices, pod.wanGateway, 'wan-gw', [...at, 'wanGateway']);
  if (wan) out.push(wan);
  const tgw = roleIssue(inv.devices, pod.torGateway, 'tor-gw', [...at, 'torGateway']);
  if (tgw) out.push(tgw);
  return out;
}

/** A CID mapping belongs to a tenant. (VNI uniqueness is a conflict between mappings, checked by the caller.) */
export function mappingIssues(m: CidMapping, inv: InventoryView, at: PropertyKey[] = []): FieldIssue[] {
  return inv.tenants.has(m.cid) ? [] : [{ field: formatPath([...at, 'cid']), reason: `no tenant with CID '${m.cid}'` }];
}

/** Every referential problem of a whole document, with paths into it (`pods[0].tors[1]`). */
export function inventoryIssues(doc: Inventory): FieldIssue[] {
  const inv = viewOf(doc);
  return [
    ...doc.pods.flatMap((p, i) => podIssues(p, inv, ['pods', i])),
    ...doc.vnis.flatMap((m, i) => mappingIssues(m, inv, ['vnis', i])),
  ];
}

/** The pods that name a device, as ToR or as a gateway. */
export function podsUsingDevice(id: string, pods: Iterable<Pod>): Pod[] {
  return [...pods].filter((p) => p.tors.includes(id) || p.wanGateway === id || p.torGateway === id);
}

export type { Settings };
