// nvo apply -f inventory.yaml [--dry-run]: make the store match a declarative file; nvo export: the reverse.
import type { Command } from 'commander';
import type { Change } from '../../store/inventory-store.ts';
import { KIND_INFO } from '../../model/inventory.ts';
import { hideDeviceSecrets } from '../../model/device-secrets.ts';
import type { CliContext } from '../context.ts';
import { readInputFile } from '../input-file.ts';

const VERB = { created: 'create', replaced: 'replace', deleted: 'delete' } as const;

function describe(c: Change, dryRun: boolean): string {
  const what = c.kind === 'settings' ? 'settings' : `${KIND_INFO[c.kind].what} ${c.id}`;
  return dryRun ? `would ${VERB[c.action]} ${what}` : `${c.action} ${what}`;
}

export function registerApply(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('make the inventory match a YAML/JSON file: creates, replaces and deletes; a repeat changes nothing')
    .requiredOption('-f, --file <file>', 'inventory file ("-" for stdin), e.g. lab/inventory.yaml')
    .option('--dry-run', 'print what would change, change nothing')
    .option('--json', 'print {dryRun, changes} as JSON')
    .action(async (opts: { file: string; dryRun?: boolean; json?: boolean }) => {
      const file = readInputFile(opts.file);
      const dryRun = Boolean(opts.dryRun);
      const changes = await (await ctx.store()).apply(file.value ?? {}, { dryRun }).catch((e: unknown) => file.annotate(e));
      if (opts.json) return ctx.json({ dryRun, changes });
      if (changes.length === 0) return ctx.print(`no changes: the inventory already matches ${opts.file}`);
      ctx.print(changes.map((c) => describe(c, dryRun)).join('\n'));
      if (dryRun) ctx.print(`${changes.length} change${changes.length === 1 ? '' : 's'} (dry run: nothing was written)`);
    });

  program
    .command('export')
    .description('print the whole inventory as a file `nvo apply -f` takes')
    .option('--json', 'print JSON instead of YAML')
    .option('--show-secrets', 'print device passwords instead of *** (applying *** back keeps the stored password)')
    .action(async (opts: { json?: boolean; showSecrets?: boolean }) => {
      const all = await (await ctx.store()).export();
      const doc = opts.showSecrets ? all : { ...all, devices: all.devices.map((d) => hideDeviceSecrets(d, 'mask')) };
      if (opts.json) ctx.json(doc);
      else ctx.yaml(doc);
    });
}
