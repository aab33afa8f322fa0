// nvo tenant add|list|show|rm — use case 1.
import type { Command } from 'commander';
import { commaList, given, type CliContext } from '../context.ts';
import { registerInventoryGroup } from '../inventory-group.ts';
import { list } from '../table.ts';

export function registerTenant(program: Command, ctx: CliContext): void {
  registerInventoryGroup(program, ctx, {
    kind: 'tenant',
    name: 'tenant',
    description: 'tenants (use case 1): CID, subnet, gateway, multicast, encapsulations',
    flags: (add) =>
      add
        .option('--name <name>', 'display name')
        .option('--subnet <cidr>', 'IP subnet, e.g. 192.0.2.0/24')
        .option('--gateway <ip>', 'default gateway, inside the subnet')
        .option('--multicast', 'wants high-bandwidth multicast (an NG-MVPN group)')
        .option('--encap <list>', 'encapsulations in priority order: vxlan,nvgre,mpls-over-gre,geneve', commaList),
    fromFlags: (_id, o) => given({ name: o.name, subnet: o.subnet, gateway: o.gateway, multicast: o.multicast, encapsulations: o.encap }),
    columns: [
      { header: 'CID', value: (t) => t.cid },
      { header: 'NAME', value: (t) => t.name },
      { header: 'SUBNET', value: (t) => t.subnet },
      { header: 'GATEWAY', value: (t) => t.gateway },
      { header: 'MCAST', value: (t) => t.multicast },
      { header: 'ENCAPS', value: (t) => list(t.encapsulations) },
    ],
  });
}
