// Field types shared by every schema. Each rejects with a reason a network engineer can act on.
import { z } from 'zod';
import { isIP } from 'node:net';
import { VLAN_MAX, VLAN_MIN, formatRange, mergeRanges, normalizeMac, parseCidr, parseRange, unicastMacReason, type Range } from './net.ts';

export const ENCAPSULATIONS = ['vxlan', 'nvgre', 'mpls-over-gre', 'geneve'] as const;
export type Encapsulation = (typeof ENCAPSULATIONS)[number];

export const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

// XML 1.0 cannot carry most C0 controls even escaped, and a name is shown in tables: refuse them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
export const text = (max: number) =>
  z.string().max(max, `at most ${max} characters`).refine((s) => !CONTROL.test(s), 'must not contain control characters');

export const ip = z.string().refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address');
export const ipv4 = z.string().refine((s) => isIP(s) === 4, 'must be an IPv4 address');

export const cidr = z.string().superRefine((s, ctx) => {
  const r = parseCidr(s);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
});

export const mac = z.string().transform((s, ctx) => {
  const m = normalizeMac(s);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not a MAC address (aa:bb:cc:dd:ee:ff)` });
    return z.NEVER;
  }
  return m;
});

/** A VM's (or any station's) MAC: canonicalized, and refused when all-zero or multicast/broadcast. */
export const unicastMac = z.string().transform((s, ctx) => {
  const m = normalizeMac(s);
  const why = m ? unicastMacReason(m) : `'${s}' is not a MAC address (aa:bb:cc:dd:ee:ff)`;
  if (why || !m) {
    ctx.addIssue({ code: 'custom', message: why ?? 'not a MAC address' });
    return z.NEVER;
  }
  return m;
});

/** A whole number within min..max, with the range in the reason. */
export const intRange = (min: number, max: number) => z.number().int('must be a whole number').min(min, `must be ${min}..${max}`).max(max, `must be ${min}..${max}`);

export const host = z
  .string()
  .min(1)
  .max(253)
  .refine((s) => isIP(s) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(s), 'must be a host name or an IP address');

export const port = z.number().int('must be a whole number').min(1).max(65535);

export const encapsulations = z
  .array(z.enum(ENCAPSULATIONS))
  .min(1, 'name at least one encapsulation')
  .refine((a) => new Set(a).size === a.length, 'an encapsulation is listed twice');

/** A list of numbers and ranges (`[10, "100-199"]`) within min..max, canonicalized to sorted, merged strings. */
export function ranges(min: number, max: number, what: string) {
  const item = z.union([z.string(), z.number()]).transform((v, ctx) => {
    const r = parseRange(v, min, max);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: `${what}: ${r}` });
      return z.NEVER;
    }
    return r;
  });
  return z
    .array(item)
    .min(1, `name at least one ${what} or range`)
    .transform((rs: Range[]) => mergeRanges(rs).map(formatRange));
}

export const vlanRanges = ranges(VLAN_MIN, VLAN_MAX, 'VLAN');

const asn = (n: number) => n >= 0 && n <= 4294967295;
/** RFC 4364 §4.2: type 0 (2-byte ASN:4-byte), type 1 (IPv4:2-byte), type 2 (4-byte ASN:2-byte). */
export function rdReason(s: string): string | null {
  const m = /^(.+):(\d+)$/.exec(s);
  if (!m) return `'${s}' is not ASN:number or IPv4:number`;
  const [, admin, numText] = m as unknown as [string, string, string];
  const num = Number(numText);
  if (isIP(admin) === 4) return num <= 65535 ? null : 'the number after an IPv4 administrator must be 0..65535';
  if (!/^\d+$/.test(admin) || !asn(Number(admin))) return `'${admin}' is not an AS number or IPv4 address`;
  if (Number(admin) <= 65535) return num <= 4294967295 ? null : 'assigned number too large';
  return num <= 65535 ? null : 'with a 4-byte AS number the assigned number must be 0..65535';
}

export const routeDistinguisher = z.string().superRefine((s, ctx) => {
  const r = rdReason(s);
  if (r) ctx.addIssue({ code: 'custom', message: r });
});

/** Route targets are written like RDs, optionally as `target:ASN:nn` (RFC 4360); stored without the prefix. */
export const routeTarget = z
  .string()
  .transform((s) => s.replace(/^target:/, ''))
  .superRefine((s, ctx) => {
    const r = rdReason(s);
    if (r) ctx.addIssue({ code: 'custom', message: r });
  });
