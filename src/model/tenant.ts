// Use case 1: a tenant as the server admin provisions it at the tenant proxy.
import { z } from 'zod';
import { cidr, encapsulations, id, ip, text } from './fields.ts';
import { cidrContains, cidrSize, ipToBigInt, parseCidr, type Cidr } from './net.ts';

export const tenantSchema = z
  .strictObject({
    cid: id,
    name: text(128).min(1, 'must not be empty'),
    subnet: cidr,
    gateway: ip,
    multicast: z.boolean().default(false),
    encapsulations: encapsulations.default(['vxlan']),
  })
  .superRefine((t, ctx) => {
    const net = parseCidr(t.subnet);
    if (typeof net === 'string') return; // already reported on `subnet`
    if (!cidrContains(net, t.gateway)) {
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: `${t.gateway} is outside the subnet ${t.subnet}` });
      return;
    }
    const reason = reservedAddressReason(net, t.gateway);
    if (reason) ctx.addIssue({ code: 'custom', path: ['gateway'], message: reason });
  });

function reservedAddressReason(net: Cidr, addr: string): string | null {
  if (net.bits !== 32 || net.prefix >= 31) return null; // RFC 3021: /31 and /32 have no network/broadcast
  const v = ipToBigInt(addr)!.value;
  if (v === net.network) return `${addr} is the subnet's network address`;
  if (v === net.network + cidrSize(net) - 1n) return `${addr} is the subnet's broadcast address`;
  return null;
}

export type Tenant = z.output<typeof tenantSchema>;
