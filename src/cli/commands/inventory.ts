// nvo inventory from-clab FILE: a containerlab topology → the inventory nvo would apply (printed,
// written to --out, or merged into the store with --apply).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { NvoError } from '../../errors.ts';
import { inventoryFromClab, type ClabInventory } from '../../lab/clab/convert.ts';
import { inventoryJson, inventoryYaml } from '../../lab/clab/output.ts';
import { readClabTopology } from '../../lab/clab/topology.ts';
import { KIND_INFO } from '../../model/inventory.ts';
import type { Change } from '../../store/inventory-store.ts';
import type { CliContext } from '../context.ts';

interface Opts {
  out?: string;
  username?: string;
  password?: string;
  knownHosts?: string;
  set: string[];
  json?: boolean;
  apply?: boolean;
  dryRun?: boolean;
}

const collect = (v: string, all: string[]) => [...all, v];
const VERB = { created: 'create', replaced: 'replace', deleted: 'delete' } as const;

function describe(c: Change, dryRun: boolean): string {
  const what = c.kind === 'settings' ? 'settings' : `${KIND_INFO[c.kind].what} ${c.id}`;
  return dryRun ? `would ${VERB[c.action]} ${what}` : `${c.action} ${what}`;
}

export function registerInventory(program: Command, ctx: CliContext): void {
  const group = program.command('inventory').description('inventory from other sources: containerlab topologies');
  group
    .command('from-clab')
    .description('turn a containerlab topology (*.clab.yml) into the inventory nvo would apply; rules in lab/containerlab/README.md')
    .argument('<file>', 'containerlab topology file, e.g. lab/containerlab/nvo-reference.clab.yml')
    .option('--out <file>', 'write the inventory to this file instead of printing it')
    .option('--username <user>', "NETCONF user for every device (default: the kind's containerlab default)")
    .option('--password <password>', "NETCONF password for every device (default: the kind's containerlab default)")
    .option('--known-hosts <file>', 'check device host keys against this known_hosts file (default: no check, as containerlab makes new keys at each deploy)')
    .option('--set <node.field=value>', 'set a field of a node\'s entry, value as YAML (repeatable), e.g. tor1.management.port=10830', collect, [])
    .option('--json', 'print {lab, inventory, hnves, skipped} as JSON')
    .option('--apply', "merge the topology's devices and pods into the store (tenants, CID mappings, settings and other devices stay)")
    .option('--dry-run', 'with --apply: print what would change, change nothing')
    .action(async (file: string, o: Opts) => {
      if (o.dryRun && !o.apply) throw new NvoError('invalid-input', '--dry-run goes with --apply', [{ field: 'dry-run', reason: 'needs --apply' }]);
      if ((o.username === undefined) !== (o.password === undefined)) {
        throw new NvoError('invalid-input', 'give --username and --password together', [{ field: o.username === undefined ? 'username' : 'password', reason: 'is required with the other' }]);
      }
      const result = inventoryFromClab(readClabTopology(file), { username: o.username, password: o.password, knownHostsFile: o.knownHosts, set: o.set });
      if (o.apply) return applyMerged(ctx, result, Boolean(o.dryRun), Boolean(o.json));
      const text = o.json ? `${JSON.stringify(inventoryJson(result), null, 2)}\n` : inventoryYaml(result);
      if (!o.out) return ctx.print(text);
      writeFileSync(o.out, text);
      const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
      const hnves = result.hnves.length ? ` (${n(result.hnves.length, 'hNVE')} listed in its header, not in the inventory)` : '';
      ctx.print(`wrote ${o.out}: ${n(result.inventory.devices.length, 'device')}, ${n(result.inventory.pods.length, 'pod')}${hnves}`);
    });
}

async function applyMerged(ctx: CliContext, r: ClabInventory, dryRun: boolean, json: boolean): Promise<void> {
  const store = await ctx.store();
  const current = await store.export();
  const mine = <T extends { id: string }>(have: T[], add: T[]) => [...have.filter((h) => !add.some((a) => a.id === h.id)), ...add];
  const doc = { ...current, devices: mine(current.devices, r.inventory.devices), pods: mine(current.pods, r.inventory.pods) };
  const changes = await store.apply(doc, { dryRun });
  if (json) return ctx.json({ dryRun, changes, hnves: r.hnves, skipped: r.skipped });
  ctx.print(changes.length ? changes.map((c) => describe(c, dryRun)).join('\n') : `no changes: the inventory already has ${r.file}'s devices and pods`);
  if (dryRun && changes.length) ctx.print(`${changes.length} change${changes.length === 1 ? '' : 's'} (dry run: nothing was written)`);
  if (r.hnves.length) ctx.print(`not in the inventory: hNVE${r.hnves.length > 1 ? 's' : ''} ${r.hnves.map((h) => h.id).join(', ')} (provision them in the hNVE store)`);
}
