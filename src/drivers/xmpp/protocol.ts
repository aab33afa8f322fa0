// The nvo push protocol (docs/xmpp.md): element names, and the one reader of configuration entries
// off the wire, shared by the gateway agent (pushes) and the driver (state replies). Every value is
// checked and a bad one is reported with its place in the payload, e.g. `merge/vlan[1]@id`.
import { isIP } from 'node:net';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { emptyConfig, type DeviceConfig } from '../../model/device-config.ts';
import { ENCAPSULATIONS, rdReason } from '../../model/fields.ts';
import { VLAN_MAX, VLAN_MIN, VNI_MAX, VNI_MIN, normalizeMac, parseCidr } from '../../model/net.ts';

export const NS_PUSH = 'urn:nvo:push:1';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
/** Resources bound when a configured JID has none, so IQs can go to a full JID (RFC 6120 §10.5.3.2). */
export const AGENT_RESOURCE = 'gateway';
export const CONTROLLER_RESOURCE = 'controller';

export class PushFormatError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function attr(el: Element, name: string, at: string, optional = false): string | undefined {
  const v = el.attrs[name] as string | undefined;
  if (v === undefined && !optional) throw new PushFormatError(`${at}@${name}`, 'missing');
  return v;
}

function int(el: Element, name: string, at: string, min: number, max: number): number {
  const v = attr(el, name, at)!;
  if (!/^\d{1,15}$/.test(v) || Number(v) < min || Number(v) > max) throw new PushFormatError(`${at}@${name}`, `'${v}' is not a whole number in ${min}..${max}`);
  return Number(v);
}

function ipAttr(el: Element, name: string, at: string): string {
  const v = attr(el, name, at)!;
  if (isIP(v) === 0) throw new PushFormatError(`${at}@${name}`, `'${v}' is not an IPv4 or IPv6 address`);
  return v;
}

function nameAttr(el: Element, name: string, at: string, optional = false): string | undefined {
  const v = attr(el, name, at, optional);
  if (v !== undefined && !NAME_RE.test(v)) throw new PushFormatError(`${at}@${name}`, `'${v}' must be 1-64 letters, digits, '.', '_' or '-'`);
  return v;
}

function rdText(v: string, at: string): string {
  const r = rdReason(v);
  if (r) throw new PushFormatError(at, r);
  return v;
}

/** Revision attribute of a push, sync, announcement or state element (0 = nothing applied yet). */
export function revisionAttr(el: Element, name: string, at: string): number {
  return int(el, name, at, 0, Number.MAX_SAFE_INTEGER);
}

/** Reads the entry children of `el` (vlan, vrf, vni, flood, mac, irb) into a DeviceConfig. */
export function readEntries(el: Element, at: string): DeviceConfig {
  const c = emptyConfig();
  const seen: Record<string, number> = {};
  for (const child of el.getChildElements()) {
    const i = (seen[child.name] = (seen[child.name] ?? -1) + 1);
    const here = `${at}/${child.name}[${i}]`;
    if (child.attrs.xmlns !== undefined && child.attrs.xmlns !== NS_PUSH) throw new PushFormatError(here, `namespace '${child.attrs.xmlns}' is not ${NS_PUSH}`);
    switch (child.name) {
      case 'vlan': {
        const name = attr(child, 'name', here)!;
        if (name.length > 64 || CONTROL.test(name)) throw new PushFormatError(`${here}@name`, 'at most 64 characters, no control characters');
        c.vlans.push({ id: int(child, 'id', here, VLAN_MIN, VLAN_MAX), name });
        break;
      }
      case 'vrf': {
        const rt = (tag: string) => child.getChildren(tag).map((t, k) => rdText(t.text().replace(/^target:/, ''), `${here}/${tag}[${k}]`));
        c.vrfs.push({ name: nameAttr(child, 'name', here)!, rd: rdText(attr(child, 'rd', here)!, `${here}@rd`), importTargets: rt('import-target'), exportTargets: rt('export-target') });
        break;
      }
      case 'vni': {
        const encapsulation = attr(child, 'encapsulation', here)!;
        if (!(ENCAPSULATIONS as readonly string[]).includes(encapsulation)) throw new PushFormatError(`${here}@encapsulation`, `'${encapsulation}' is not one of ${ENCAPSULATIONS.join(', ')}`);
        const vrf = nameAttr(child, 'vrf', here, true);
        const group = attr(child, 'mcast-group', here, true);
        if (group !== undefined && isIP(group) === 0) throw new PushFormatError(`${here}@mcast-group`, `'${group}' is not an IP address`);
        c.vnis.push({ vni: int(child, 'vni', here, VNI_MIN, VNI_MAX), vlan: int(child, 'vlan', here, VLAN_MIN, VLAN_MAX), encapsulation, ...(vrf ? { vrf } : {}), ...(group ? { mcastGroup: group } : {}) });
        break;
      }
      case 'flood':
        c.floods.push({ vni: int(child, 'vni', here, VNI_MIN, VNI_MAX), vtep: ipAttr(child, 'vtep', here) });
        break;
      case 'mac': {
        const raw = attr(child, 'mac', here)!;
        const mac = normalizeMac(raw);
        if (!mac) throw new PushFormatError(`${here}@mac`, `'${raw}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
        c.macs.push({ vni: int(child, 'vni', here, VNI_MIN, VNI_MAX), mac, vtep: ipAttr(child, 'vtep', here) });
        break;
      }
      case 'irb': {
        const address = attr(child, 'address', here)!;
        const net = parseCidr(address, { hostBitsAllowed: true });
        if (typeof net === 'string') throw new PushFormatError(`${here}@address`, net);
        c.irbs.push({ vlan: int(child, 'vlan', here, VLAN_MIN, VLAN_MAX), vrf: nameAttr(child, 'vrf', here)!, address });
        break;
      }
      default:
        throw new PushFormatError(here, 'unknown entry (expected vlan, vrf, vni, flood, mac or irb)');
    }
  }
  return c;
}

/** The same entries as elements, for replies built in code (the agent's state answer). */
export function entryElements(c: DeviceConfig): Element[] {
  const opt = (o: Record<string, string | number | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
  return [
    ...c.vrfs.map((v) =>
      xml('vrf', { name: v.name, rd: v.rd }, ...v.importTargets.map((t) => xml('import-target', {}, t)), ...v.exportTargets.map((t) => xml('export-target', {}, t))),
    ),
    ...c.vlans.map((v) => xml('vlan', { id: String(v.id), name: v.name })),
    ...c.vnis.map((v) => xml('vni', opt({ vni: v.vni, vlan: v.vlan, encapsulation: v.encapsulation, vrf: v.vrf, 'mcast-group': v.mcastGroup }))),
    ...c.irbs.map((v) => xml('irb', { vlan: String(v.vlan), vrf: v.vrf, address: v.address })),
    ...c.floods.map((v) => xml('flood', { vni: String(v.vni), vtep: v.vtep })),
    ...c.macs.map((v) => xml('mac', { vni: String(v.vni), mac: v.mac, vtep: v.vtep })),
  ];
}

/** An IQ error payload (RFC 6120 §8.3.2): defined condition, our text, and our application element. */
export function errorElement(
  type: 'cancel' | 'modify' | 'wait' | 'auth',
  condition: string,
  text: string,
  app?: { name: string; attrs?: Record<string, string> },
): Element {
  return xml(
    'error',
    { type },
    xml(condition, { xmlns: NS_STANZAS }),
    xml('text', { xmlns: NS_STANZAS, 'xml:lang': 'en' }, text),
    ...(app ? [xml(app.name, { xmlns: NS_PUSH, ...(app.attrs ?? {}) })] : []),
  );
}
