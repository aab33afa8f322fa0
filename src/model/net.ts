// Address arithmetic the schemas and the allocator share: IPv4/IPv6 parsing, CIDR, MAC, VLAN ranges.
import { isIP } from 'node:net';

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094; // IEEE 802.1Q: 0 and 4095 are reserved
export const VNI_MIN = 1;
export const VNI_MAX = 16_777_215; // RFC 7348 §5: 24-bit VNI

/** IPv4 or IPv6 address to a bigint, with its family; null when not an address. */
export function ipToBigInt(ip: string): { value: bigint; bits: 32 | 128 } | null {
  const family = isIP(ip);
  if (family === 4) {
    const value = ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { value, bits: 32 };
  }
  if (family === 6) {
    let text = ip;
    const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
    if (v4) {
      const tail = ipToBigInt(v4[1]!)!.value;
      text = text.slice(0, -v4[1]!.length) + ((tail >> 16n) & 0xffffn).toString(16) + ':' + (tail & 0xffffn).toString(16);
    }
    const [head, rest] = text.split('::') as [string, string | undefined];
    const headParts = head ? head.split(':') : [];
    const restParts = rest !== undefined && rest !== '' ? rest.split(':') : [];
    const fill = rest !== undefined ? 8 - headParts.length - restParts.length : 0;
    const parts = [...headParts, ...Array<string>(fill).fill('0'), ...restParts];
    const value = parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
    return { value, bits: 128 };
  }
  return null;
}

export function bigIntToIp(value: bigint, bits: 32 | 128): string {
  if (bits === 32) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const parts: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((value >> s) & 0xffffn).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

export interface Cidr {
  network: bigint;
  prefix: number;
  bits: 32 | 128;
}

/** Parses `a.b.c.d/n`; returns a reason instead of throwing so schemas can report it. */
export function parseCidr(text: string, { hostBitsAllowed = false } = {}): Cidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'needs a prefix length, e.g. 192.0.2.0/24';
  const addr = ipToBigInt(text.slice(0, slash));
  if (!addr) return `'${text.slice(0, slash)}' is not an IP address`;
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > addr.bits) return `prefix length must be 0..${addr.bits}`;
  const hostMask = (1n << BigInt(addr.bits - prefix)) - 1n;
  if (!hostBitsAllowed && (addr.value & hostMask) !== 0n) {
    return `host bits set; the network is ${bigIntToIp(addr.value & ~hostMask, addr.bits)}/${prefix}`;
  }
  return { network: addr.value & ~hostMask, prefix, bits: addr.bits };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const addr = ipToBigInt(ip);
  if (!addr || addr.bits !== cidr.bits) return false;
  const hostMask = (1n << BigInt(cidr.bits - cidr.prefix)) - 1n;
  return (addr.value & ~hostMask) === cidr.network;
}

export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(cidr.bits - cidr.prefix);
}

/** The i-th address of a CIDR (0 = the network address). */
export function cidrAddress(cidr: Cidr, i: bigint): string {
  return bigIntToIp(cidr.network + i, cidr.bits);
}

const MAC_RE = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** Canonical lower-case, colon-separated MAC, or null. Accepts `aa:bb:..`, `aa-bb-..`, `aabb..`. */
export function normalizeMac(text: string): string | null {
  const m = MAC_RE.exec(text);
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

/** A VM's MAC must be a unicast station address: not all-zero, and the I/G bit clear (IEEE 802). */
export function unicastMacReason(mac: string): string | null {
  if (mac === '00:00:00:00:00:00') return 'the all-zero MAC is not a station address';
  if (parseInt(mac.slice(0, 2), 16) & 1) return 'a multicast/broadcast MAC cannot belong to a VM';
  return null;
}

export interface Range {
  from: number;
  to: number;
}

/** `"100-199"`, `"7"` or 7 → a range, or a reason. */
export function parseRange(item: string | number, min: number, max: number): Range | string {
  const text = String(item).trim();
  const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
  if (!m) return `'${text}' is not a number or a range like 100-199`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < min || from > max) return `${from} is outside ${min}..${max}`;
  if (to < min || to > max) return `${to} is outside ${min}..${max}`;
  if (to < from) return `range ${text} ends before it starts`;
  return { from, to };
}

export function formatRange(r: Range): string {
  return r.from === r.to ? String(r.from) : `${r.from}-${r.to}`;
}

/** Sorted, merged ranges. */
export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

export function rangesFromStrings(items: readonly string[]): Range[] {
  return items.map((s) => {
    const r = parseRange(s, 0, Number.MAX_SAFE_INTEGER);
    if (typeof r === 'string') throw new Error(`bad stored range ${s}: ${r}`);
    return r;
  });
}

export function rangesContain(ranges: readonly Range[], n: number): boolean {
  return ranges.some((r) => n >= r.from && n <= r.to);
}

export function intersectRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const x of mergeRanges([...a])) {
    for (const y of mergeRanges([...b])) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  }
  return mergeRanges(out);
}
