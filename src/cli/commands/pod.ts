// nvo pod add|list|show|rm — L2 pods: their VLANs, ToR pair and serving gateways.
import type { Command } from 'commander';
import { commaList, given, type CliContext } from '../context.ts';
import { registerInventoryGroup } from '../inventory-group.ts';
import { list } from '../table.ts';

export function registerPod(program: Command, ctx: CliContext): void {
  registerInventoryGroup(program, ctx, {
    kind: 'pod',
    name: 'pod',
    description: 'L2 pods (use case 2): local VLANs, ToR pair, WAN and ToR gateway',
    flags: (add) =>
      add
        .option('--tors <ids>', 'the ToR pair, e.g. tor1,tor2', commaList)
        .option('--wan-gw <id>', 'the WAN gateway serving the pod')
        .option('--tor-gw <id>', 'the ToR gateway serving the pod')
        .option('--vlans <ranges>', 'the pod\'s local VLANs (default 1-4000)', commaList)
        .option('--routing <where>', 'tor | gateway: where tenant gateways (IRB) live'),
    fromFlags: (_id, o) => given({ tors: o.tors, wanGateway: o.wanGw, torGateway: o.torGw, vlanRanges: o.vlans, routing: o.routing }),
    columns: [
      { header: 'ID', value: (p) => p.id },
      { header: 'VLANS', value: (p) => list(p.vlanRanges) },
      { header: 'TORS', value: (p) => list(p.tors) },
      { header: 'WAN-GW', value: (p) => p.wanGateway },
      { header: 'TOR-GW', value: (p) => p.torGateway },
      { header: 'ROUTING', value: (p) => p.routing },
    ],
  });
}
