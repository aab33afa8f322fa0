// Everything a change must satisfy before the first command runs: a refused change leaves the kernel
// exactly as it was. Shape first (types, ranges, MAC and address syntax), then the references that
// only hold for the configuration as a whole (a MAC needs its VNI, a VNI its VLAN, an IRB its VRF).
import { isIP } from 'node:net';
import { z } from 'zod';
import { NvoError, type FieldIssue } from '../../errors.ts';
import { applyChange, entryKey, ENTRY_KINDS, normalizeConfig, stableJson, type DeviceChange, type DeviceConfig, type EntryKind } from '../../model/device-config.ts';
import { parseCidr, VLAN_MAX, VLAN_MIN, VNI_MAX, VNI_MIN } from '../../model/net.ts';
import { intRange as int, ip as ipAddr, unicastMac as macAddr } from '../../model/fields.ts';
import { ALIAS_MAX_BYTES, markBytes, vrfDeviceName } from './names.ts';

const str = (max: number) => z.string().min(1, 'must not be empty').max(max, `at most ${max} characters`);
const vrfName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
const ifAddr = z.string().superRefine((s, ctx) => {
  const r = parseCidr(s, { hostBitsAllowed: true });
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
});

const configSchema = z.strictObject({
  vlans: z.array(z.strictObject({ id: int(VLAN_MIN, VLAN_MAX), name: z.string().max(64, 'at most 64 characters') })),
  vrfs: z.array(z.strictObject({ name: vrfName, rd: z.string().max(64, 'at most 64 characters'), importTargets: z.array(str(64)), exportTargets: z.array(str(64)) })),
  vnis: z.array(
    z.strictObject({
      vni: int(VNI_MIN, VNI_MAX),
      vlan: int(VLAN_MIN, VLAN_MAX),
      encapsulation: z.literal('vxlan', 'the Linux data plane carries only vxlan'),
      vrf: vrfName.optional(),
      mcastGroup: ipAddr.optional(),
    }),
  ),
  floods: z.array(z.strictObject({ vni: int(VNI_MIN, VNI_MAX), vtep: ipAddr })),
  macs: z.array(z.strictObject({ vni: int(VNI_MIN, VNI_MAX), mac: macAddr, vtep: ipAddr })),
  irbs: z.array(z.strictObject({ vlan: int(VLAN_MIN, VLAN_MAX), vrf: vrfName, address: ifAddr })),
});
// A removal names entries by key only (the rest, if sent, is ignored), as applyChange does.
const removeSchema = z.strictObject({
  vlans: z.array(z.looseObject({ id: int(VLAN_MIN, VLAN_MAX) })),
  vrfs: z.array(z.looseObject({ name: vrfName })),
  vnis: z.array(z.looseObject({ vni: int(VNI_MIN, VNI_MAX) })),
  floods: z.array(z.looseObject({ vni: int(VNI_MIN, VNI_MAX), vtep: ipAddr })),
  macs: z.array(z.looseObject({ vni: int(VNI_MIN, VNI_MAX), mac: macAddr })),
  irbs: z.array(z.looseObject({ vlan: int(VLAN_MIN, VLAN_MAX) })),
});
const changeSchema = z.strictObject({ merge: configSchema, remove: removeSchema.partial() });

function refuse(issues: FieldIssue[]): NvoError {
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new NvoError('invalid-input', `${first.field}: ${first.reason}${more}`, issues);
}

function parse<T>(schema: z.ZodType<T>, input: unknown, prefix: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw refuse(r.error.issues.map((i) => ({ field: prefix + i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, ''), reason: i.message })));
}

export interface TargetRules {
  /** The local VTEP: remote VTEPs must be of its address family and never itself. */
  localVtep: string;
}

/** The configuration `change` leads to from `current`, or an error naming the field at fault. */
export function validateChange(current: DeviceConfig, input: unknown, rules: TargetRules): DeviceConfig {
  const parsed = parse(changeSchema, input, '');
  const change: DeviceChange = { merge: parsed.merge, remove: { ...emptyRemove(), ...parsed.remove } as DeviceConfig };
  const issues: FieldIssue[] = [];
  const origin = new Map<string, string>();
  // The same key twice in one merge with different contents: which one is meant? Refuse, don't guess.
  for (const kind of ENTRY_KINDS) {
    const seen = new Map<string, string>();
    change.merge[kind].forEach((e, i) => {
      const k = (entryKey[kind] as (x: unknown) => string)(e);
      const json = stableJson(e);
      if (seen.has(k) && seen.get(k) !== json) issues.push({ field: `merge.${kind}[${i}]`, reason: `contradicts an earlier ${kind} entry with the same key ${k}` });
      seen.set(k, json);
      origin.set(`${kind}/${k}`, `merge.${kind}[${i}]`);
    });
  }
  if (issues.length) throw refuse(issues);
  const target = applyChange(current, change);
  checkTarget(target, rules, (kind, key) => origin.get(`${kind}/${key}`) ?? `${kind}[${key}]`);
  return target;
}

/** `config` itself when it is valid (MACs in canonical form), or an error naming the field at fault. */
export function validateConfig(input: unknown, rules: TargetRules): DeviceConfig {
  const parsed = normalizeConfig(parse(configSchema, input, '') as DeviceConfig);
  const index = new Map<string, number>();
  for (const kind of ENTRY_KINDS) parsed[kind].forEach((e, i) => index.set(`${kind}/${(entryKey[kind] as (x: unknown) => string)(e)}`, i));
  checkTarget(parsed, rules, (kind, key) => `${kind}[${index.get(`${kind}/${key}`) ?? key}]`);
  return parsed;
}

function emptyRemove(): DeviceConfig {
  return { vlans: [], vrfs: [], vnis: [], floods: [], macs: [], irbs: [] };
}

function checkTarget(c: DeviceConfig, rules: TargetRules, path: (kind: EntryKind, key: string) => string): void {
  const issues: FieldIssue[] = [];
  const at = (kind: EntryKind, e: unknown, field: string, reason: string) =>
    issues.push({ field: `${path(kind, (entryKey[kind] as (x: unknown) => string)(e))}.${field}`, reason });
  const vlans = new Set(c.vlans.map((v) => v.id));
  const vrfs = new Set(c.vrfs.map((v) => v.name));
  const vnis = new Set(c.vnis.map((v) => v.vni));
  const family = isIP(rules.localVtep);

  const vlanOwner = new Map<number, number>();
  for (const v of c.vnis) {
    if (!vlans.has(v.vlan)) at('vnis', v, 'vlan', `VLAN ${v.vlan} is not configured`);
    // Two VNIs in one VLAN segment would bridge their frames into each other.
    const other = vlanOwner.get(v.vlan);
    if (other !== undefined) at('vnis', v, 'vlan', `VLAN ${v.vlan} is already bound to VNI ${other}`);
    vlanOwner.set(v.vlan, v.vni);
    if (v.vrf !== undefined && !vrfs.has(v.vrf)) at('vnis', v, 'vrf', `VRF '${v.vrf}' is not configured`);
  }
  const vtep = (kind: EntryKind, e: { vtep: string }) => {
    if (isIP(e.vtep) !== family) at(kind, e, 'vtep', `must be an IPv${family} address like the local VTEP ${rules.localVtep}`);
    else if (e.vtep === rules.localVtep) at(kind, e, 'vtep', 'is the local VTEP itself');
  };
  for (const f of c.floods) {
    if (!vnis.has(f.vni)) at('floods', f, 'vni', `VNI ${f.vni} is not configured`);
    vtep('floods', f);
  }
  for (const m of c.macs) {
    if (!vnis.has(m.vni)) at('macs', m, 'vni', `VNI ${m.vni} is not configured`);
    vtep('macs', m);
  }
  for (const i of c.irbs) {
    if (!vlans.has(i.vlan)) at('irbs', i, 'vlan', `VLAN ${i.vlan} is not configured`);
    if (!vrfs.has(i.vrf)) at('irbs', i, 'vrf', `VRF '${i.vrf}' is not configured`);
  }
  // The alias is where a device keeps the entry it stands for; the kernel caps it at 255 bytes.
  const tooLong = (kind: EntryKind, e: unknown, bytes: number) => {
    if (bytes > ALIAS_MAX_BYTES) at(kind, e, '', `needs ${bytes} bytes to record on the device, more than ${ALIAS_MAX_BYTES}`);
  };
  const irbVrf = new Map(c.irbs.map((i) => [i.vlan, i.vrf]));
  for (const v of c.vlans) tooLong('vlans', v, markBytes({ t: 'vlan', ...v, irbVrf: irbVrf.get(v.id) }));
  for (const v of c.vnis) tooLong('vnis', v, markBytes({ t: 'vni', ...v }));
  const devices = new Map<string, string>();
  for (const v of c.vrfs) {
    tooLong('vrfs', v, markBytes({ t: 'vrf', ...v }));
    const dev = vrfDeviceName(v.name);
    if (devices.has(dev)) at('vrfs', v, 'name', `hashes to the same device name ${dev} as VRF '${devices.get(dev)}'`);
    devices.set(dev, v.name);
  }
  if (issues.length) throw refuse(issues.map((i) => ({ ...i, field: i.field.replace(/\.$/, '') })));
}
