// Device names and ownership marks. Names are derived from the entry's key alone, so any process
// finds the device again after a restart, and they fit IFNAMSIZ (16 bytes with the NUL: 15 chars).
// A name prefix is not proof of ownership (anyone can call a device nvob10); the mark is the
// interface alias (`ifalias`), which holds the entry the device stands for. Devices without our mark
// are never changed or deleted, even when their name looks like ours.
import { createHash } from 'node:crypto';
import { invalid } from '../../errors.ts';

export const IFNAMSIZ = 15;
/** Linux caps ifalias at IFALIASZ - 1 = 255 bytes. */
export const ALIAS_MAX_BYTES = 255;
export const MARK = 'nvo1 ';

export const bridgeName = (vlan: number): string => `nvob${vlan}`;
export const vxlanName = (vni: number): string => `nvox${vni}`;
export const trunkVlanName = (vlan: number): string => `nvoq${vlan}`;
/** VRF names are free text up to 64 chars, so the device name is a hash; the alias keeps the name. */
export const vrfDeviceName = (vrf: string): string => `nvor${vrfHash(vrf).toString(16).padStart(8, '0')}`;
/** Kernel routing table of a VRF device: derived too, kept clear of the reserved tables (0, 253-255). */
export const vrfTable = (vrf: string): number => 0x10000000 + (vrfHash(vrf) & 0x0fffffff);

function vrfHash(vrf: string): number {
  return createHash('sha256').update(vrf).digest().readUInt32BE(0);
}

// Stricter than the kernel (which allows anything but '/', ':' and whitespace): these names go into
// argv and logs, so keep them to characters no tool treats specially, and never a leading '-'.
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkIfName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !IFNAME_RE.test(name)) {
    throw invalid(field, `'${String(name)}' is not an interface name (1-${IFNAMSIZ} letters, digits, '.', '_' or '-', starting with a letter or digit)`);
  }
  return name;
}

export function checkNetnsName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !NETNS_RE.test(name)) {
    throw invalid(field, `'${String(name)}' is not a network namespace name (1-64 letters, digits, '.', '_' or '-')`);
  }
  return name;
}

/** What an nvo device stands for; stored in its alias as JSON after the mark. */
export type Mark =
  | { t: 'vlan'; id: number; name: string; irbVrf?: string }
  | { t: 'vni'; vni: number; vlan: number; encapsulation: string; vrf?: string; mcastGroup?: string }
  | { t: 'vrf'; name: string; rd: string; importTargets: string[]; exportTargets: string[] }
  | { t: 'trunk'; vlan: number };

export function encodeMark(m: Mark): string {
  return MARK + JSON.stringify(m);
}

export function markBytes(m: Mark): number {
  return Buffer.byteLength(encodeMark(m), 'utf8');
}

/** The mark in an alias, or null when the device is not ours (no alias, another alias, garbage). */
export function decodeMark(alias: string | undefined): Mark | null {
  if (!alias?.startsWith(MARK)) return null;
  try {
    const m = JSON.parse(alias.slice(MARK.length)) as Mark;
    if (m && typeof m === 'object' && ['vlan', 'vni', 'vrf', 'trunk'].includes(m.t)) return m;
  } catch {
    // not ours after all
  }
  return null;
}

/** The name an nvo device with this mark must have; a marked device under another name is stale. */
export function nameForMark(m: Mark): string {
  switch (m.t) {
    case 'vlan':
      return bridgeName(m.id);
    case 'vni':
      return vxlanName(m.vni);
    case 'vrf':
      return vrfDeviceName(m.name);
    case 'trunk':
      return trunkVlanName(m.vlan);
  }
}
