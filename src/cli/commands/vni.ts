// nvo vni add|list|show|rm — CID mappings: CID → VNI (given or from the pool) and VRF.
import type { Command } from 'commander';
import { VNI_MAX, VNI_MIN } from '../../model/net.ts';
import { commaList, given, intArg, type CliContext } from '../context.ts';
import { registerInventoryGroup } from '../inventory-group.ts';
import { list } from '../table.ts';

export function registerVni(program: Command, ctx: CliContext): void {
  registerInventoryGroup(program, ctx, {
    kind: 'vni',
    name: 'vni',
    description: 'CID mappings (use case 2): CID → VNI and VRF (name, RD, route targets)',
    flags: (add) =>
      add
        .option('--vni <n>', 'the VNI (default: allocated from settings.vniPool)', intArg('--vni', VNI_MIN, VNI_MAX))
        .option('--vrf <name>', 'VRF name (default: the CID)')
        .option('--rd <rd>', 'route distinguisher, e.g. 65000:5001')
        .option('--rt <list>', 'route targets to import and export', commaList)
        .option('--import <list>', 'route targets to import', commaList)
        .option('--export <list>', 'route targets to export', commaList),
    fromFlags: (id, o) =>
      given({
        vni: o.vni,
        vrf: given({ name: o.vrf ?? id, rd: o.rd, importTargets: o.import ?? o.rt, exportTargets: o.export ?? o.rt }),
      }),
    columns: [
      { header: 'CID', value: (m) => m.cid },
      { header: 'VNI', value: (m) => m.vni ?? 'pool' },
      { header: 'VRF', value: (m) => m.vrf.name },
      { header: 'RD', value: (m) => m.vrf.rd },
      { header: 'IMPORT', value: (m) => list(m.vrf.importTargets) },
      { header: 'EXPORT', value: (m) => list(m.vrf.exportTargets) },
    ],
  });
}
