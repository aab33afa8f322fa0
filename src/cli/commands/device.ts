// nvo device add|list|show|rm — the aNVEs of use case 2 (ToRs, WAN and ToR gateways).
import type { Command } from 'commander';
import { DEVICE_ROLES, DRIVERS } from '../../model/device.ts';
import { hideDeviceSecrets } from '../../model/device-secrets.ts';
import { commaList, given, intArg, type CliContext } from '../context.ts';
import { registerInventoryGroup } from '../inventory-group.ts';
import { list } from '../table.ts';

export function registerDevice(program: Command, ctx: CliContext): void {
  registerInventoryGroup(program, ctx, {
    kind: 'device',
    name: 'device',
    description: 'devices (use case 2): ToRs, WAN gateways, ToR gateways',
    flags: (add) =>
      add
        .option('--role <role>', DEVICE_ROLES.join(' | '))
        .option('--driver <driver>', DRIVERS.join(' | '))
        .option('--dialect <name>', 'NETCONF dialect (see templates/netconf/)')
        .option('--vtep <ip>', 'VTEP address')
        .option('--host <host>', 'management host (netconf)')
        .option('--port <port>', 'management port (netconf, default 830)', intArg('--port', 1, 65535))
        .option('--username <name>', 'management user')
        .option('--password <password>', 'management password')
        .option('--key-file <file>', 'SSH private key file')
        .option('--host-key <sha256>', 'pinned SSH host key, SHA256:… as ssh-keygen -l prints it')
        .option('--host-key-check <mode>', 'pinned | known-hosts | off')
        .option('--jid <jid>', 'JID of the gateway agent (xmpp)')
        .option('--encap <list>', 'supported encapsulations', commaList)
        .option('--vlans <ranges>', 'locally assigned VLANs, e.g. 100-1999,3000', commaList)
        .option('--ngmvpn', 'NG-MVPN capable (hands out multicast groups)')
        .option('--groups <cidrs>', 'multicast group pool, e.g. 233.252.0.0/24', commaList)
        .option('--description <text>', 'free text'),
    fromFlags: (_id, o) => {
      const mgmt = given({ host: o.host, port: o.port, username: o.username, password: o.password, privateKeyFile: o.keyFile, hostKey: o.hostKey, hostKeyCheck: o.hostKeyCheck });
      return given({
        role: o.role,
        driver: o.driver,
        dialect: o.dialect,
        vtep: o.vtep,
        management: Object.keys(mgmt).length ? mgmt : undefined,
        jid: o.jid,
        encapsulations: o.encap,
        vlanRanges: o.vlans,
        ngMvpn: o.ngmvpn,
        mcastGroups: o.groups,
        description: o.description,
      });
    },
    present: (d, showSecrets) => (showSecrets ? d : hideDeviceSecrets(d, 'mask')),
    columns: [
      { header: 'ID', value: (d) => d.id },
      { header: 'ROLE', value: (d) => d.role + (d.ngMvpn ? ' (ng-mvpn)' : '') },
      { header: 'DRIVER', value: (d) => d.driver },
      { header: 'DIALECT', value: (d) => d.dialect },
      { header: 'VTEP', value: (d) => d.vtep },
      { header: 'MANAGEMENT', value: (d) => (d.management ? `${d.management.host}:${d.management.port}` : d.jid) },
      { header: 'VLANS', value: (d) => list(d.vlanRanges) },
      { header: 'GROUPS', value: (d) => list(d.mcastGroups) },
    ],
  });
}
