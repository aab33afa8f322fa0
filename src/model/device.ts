// Use case 2: an ASIC NVE (aNVE) as the network admin provisions it at the network proxy.
import { z } from 'zod';
import { cidr, encapsulations, host, id, ip, port, text, vlanRanges } from './fields.ts';
import { cidrContains, parseCidr } from './net.ts';

export const DEVICE_ROLES = ['tor', 'wan-gw', 'tor-gw'] as const;
export type DeviceRole = (typeof DEVICE_ROLES)[number];

export const DRIVERS = ['netconf', 'xmpp'] as const;
export type DriverName = (typeof DRIVERS)[number];

const management = z.strictObject({
  host,
  port: port.default(830),
  username: z.string().min(1).max(64),
  password: z.string().max(256).optional(),
  privateKeyFile: z.string().min(1).optional(),
  /** Pinned SSH host key, `SHA256:<base64>` as `ssh-keygen -lf` prints it. */
  hostKey: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be SHA256:<base64> as ssh-keygen -l prints it').optional(),
  /** `pinned` needs hostKey; `known-hosts` reads knownHostsFile; `off` trusts any key (labs only). */
  hostKeyCheck: z.enum(['pinned', 'known-hosts', 'off']).optional(),
  knownHostsFile: z.string().min(1).optional(),
});

const jid = z.string().regex(/^[^@/\s]+@[^@/\s]+(\/\S+)?$/, 'must be a JID like gw1@nvo3.test');

const MULTICAST_V4 = parseCidr('224.0.0.0/4') as Exclude<ReturnType<typeof parseCidr>, string>;

export const deviceSchema = z
  .strictObject({
    id,
    role: z.enum(DEVICE_ROLES),
    description: text(256).optional(),
    /** NG-MVPN capable (RFC 6513/6514): may hand out multicast groups from mcastGroups. */
    ngMvpn: z.boolean().default(false),
    driver: z.enum(DRIVERS),
    dialect: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be a dialect name like openconfig').optional(),
    management: management.optional(),
    jid: jid.optional(),
    vtep: ip,
    encapsulations: encapsulations.default(['vxlan']),
    /** VLANs this device may hand out locally; the allocator intersects them with the pod's. */
    vlanRanges: vlanRanges.default(['1-4094']),
    mcastGroups: z.array(cidr).min(1).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.driver === 'netconf') {
      if (!d.management) ctx.addIssue({ code: 'custom', path: ['management'], message: 'a netconf device needs management (host, port, username, password or key)' });
      if (!d.dialect) ctx.addIssue({ code: 'custom', path: ['dialect'], message: 'a netconf device needs a dialect' });
    }
    if (d.driver === 'xmpp' && !d.jid) ctx.addIssue({ code: 'custom', path: ['jid'], message: 'an xmpp device needs the JID of its gateway agent' });
    if (d.management && !d.management.password && !d.management.privateKeyFile) {
      ctx.addIssue({ code: 'custom', path: ['management', 'password'], message: 'give a password or a privateKeyFile' });
    }
    if (d.management?.hostKeyCheck === 'pinned' && !d.management.hostKey) {
      ctx.addIssue({ code: 'custom', path: ['management', 'hostKey'], message: 'hostKeyCheck pinned needs hostKey' });
    }
    if (d.mcastGroups && !d.ngMvpn) {
      ctx.addIssue({ code: 'custom', path: ['mcastGroups'], message: 'only NG-MVPN gateways (ngMvpn: true) hand out multicast groups' });
    }
    if (d.ngMvpn && d.role === 'tor') ctx.addIssue({ code: 'custom', path: ['ngMvpn'], message: 'NG-MVPN is a gateway capability (role wan-gw or tor-gw)' });
    d.mcastGroups?.forEach((g, i) => {
      const net = parseCidr(g);
      if (typeof net !== 'string' && !(net.bits === 32 && cidrContains(MULTICAST_V4, g.split('/')[0]!) && net.prefix >= 4)) {
        ctx.addIssue({ code: 'custom', path: ['mcastGroups', i], message: `${g} is not inside 224.0.0.0/4` });
      }
    });
  });

export type Device = z.output<typeof deviceSchema>;
