// Checks any data plane can make before it changes anything, whatever it runs on: the shape of every
// entry (numbers in range, MACs unicast, addresses real), no two entries with one key and different
// contents in one change, and the references a forwarding table needs (a MAC or flood entry needs its
// VNI, a VNI its VLAN, an IRB its VLAN and VRF). The recorder runs them so tests without root refuse
// what the Linux data plane (which adds its own kernel rules, linux/validate.ts) would refuse.
import { z } from 'zod';
import { NvoError, type FieldIssue } from '../errors.ts';
import { applyChange, emptyConfig, entryKey, ENTRY_KINDS, stableJson, type DeviceChange, type DeviceConfig, type EntryKind } from '../model/device-config.ts';
import { VLAN_MAX, VLAN_MIN, VNI_MAX, VNI_MIN } from '../model/net.ts';
import { intRange as int, ip as ipAddr, unicastMac as macAddr } from '../model/fields.ts';
import { issuesOf } from '../model/validate.ts';

const entries = {
  vlans: z.strictObject({ id: int(VLAN_MIN, VLAN_MAX), name: z.string().max(64) }),
  vrfs: z.strictObject({ name: z.string().min(1).max(64), rd: z.string().max(64), importTargets: z.array(z.string()), exportTargets: z.array(z.string()) }),
  vnis: z.strictObject({ vni: int(VNI_MIN, VNI_MAX), vlan: int(VLAN_MIN, VLAN_MAX), encapsulation: z.string().min(1), vrf: z.string().optional(), mcastGroup: ipAddr.optional() }),
  floods: z.strictObject({ vni: int(VNI_MIN, VNI_MAX), vtep: ipAddr }),
  macs: z.strictObject({ vni: int(VNI_MIN, VNI_MAX), mac: macAddr, vtep: ipAddr }),
  irbs: z.strictObject({ vlan: int(VLAN_MIN, VLAN_MAX), vrf: z.string().min(1), address: z.string().min(1) }),
};
const configSchema = z.strictObject(Object.fromEntries(ENTRY_KINDS.map((k) => [k, z.array(entries[k]).default([])])) as { [K in EntryKind]: z.ZodDefault<z.ZodArray<(typeof entries)[K]>> });
const changeSchema = z.strictObject({ merge: configSchema, remove: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).default({}) });

function refuse(issues: FieldIssue[]): NvoError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new NvoError('invalid-input', `${issues[0]!.field}: ${issues[0]!.reason}${more}`, issues);
}

/** The configuration the change leads to from `current`, or an NvoError naming the field at fault. */
export function checkChange(current: DeviceConfig, input: unknown, o: { references?: boolean } = {}): DeviceConfig {
  const r = changeSchema.safeParse(input);
  if (!r.success) throw refuse(issuesOf(r.error));
  const merge = r.data.merge as DeviceConfig;
  const remove = { ...emptyConfig(), ...(r.data.remove as Partial<DeviceConfig>) };
  const issues: FieldIssue[] = [];
  for (const kind of ENTRY_KINDS) {
    const seen = new Map<string, string>();
    merge[kind].forEach((e, i) => {
      const k = (entryKey[kind] as (x: unknown) => string)(e);
      if (seen.has(k) && seen.get(k) !== stableJson(e)) issues.push({ field: `merge.${kind}[${i}]`, reason: `contradicts an earlier entry with the same key ${k}` });
      seen.set(k, stableJson(e));
    });
  }
  if (issues.length) throw refuse(issues);
  const target = applyChange(current, { merge, remove } as DeviceChange);
  if (o.references !== false) checkReferences(target);
  return target;
}

/** `config` as given when it is whole and consistent, or an NvoError naming the field at fault. */
export function checkConfig(input: unknown, o: { references?: boolean } = {}): DeviceConfig {
  return checkChange(emptyConfig(), { merge: input, remove: {} }, o);
}

function checkReferences(c: DeviceConfig): void {
  const issues: FieldIssue[] = [];
  const vlans = new Set(c.vlans.map((v) => v.id));
  const vrfs = new Set(c.vrfs.map((v) => v.name));
  const vnis = new Set(c.vnis.map((v) => v.vni));
  for (const v of c.vnis) if (!vlans.has(v.vlan)) issues.push({ field: `vnis[${v.vni}].vlan`, reason: `VLAN ${v.vlan} is not configured` });
  for (const f of c.floods) if (!vnis.has(f.vni)) issues.push({ field: `floods[${f.vni}/${f.vtep}].vni`, reason: `VNI ${f.vni} is not configured` });
  for (const m of c.macs) if (!vnis.has(m.vni)) issues.push({ field: `macs[${m.vni}/${m.mac}].vni`, reason: `VNI ${m.vni} is not configured` });
  for (const i of c.irbs) {
    if (!vlans.has(i.vlan)) issues.push({ field: `irbs[${i.vlan}].vlan`, reason: `VLAN ${i.vlan} is not configured` });
    if (!vrfs.has(i.vrf)) issues.push({ field: `irbs[${i.vlan}].vrf`, reason: `VRF '${i.vrf}' is not configured` });
  }
  if (issues.length) throw refuse(issues);
}
