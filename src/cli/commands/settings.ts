// nvo settings show|set — fleet-wide settings (the VNI pool).
import type { Command } from 'commander';
import { commaList, given, type CliContext } from '../context.ts';

export function registerSettings(program: Command, ctx: CliContext): void {
  const group = program.command('settings').description('fleet-wide settings: the VNI pool');
  group
    .command('show')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const s = await (await ctx.store()).getSettings();
      if (opts.json) ctx.json(s);
      else ctx.yaml(s);
    });
  group
    .command('set')
    .description('replace the settings (what is not given returns to its default)')
    .option('--vni-pool <ranges>', 'VNIs handed out to CID mappings without one, e.g. 10000-19999', commaList)
    .action(async (opts: { vniPool?: string[] }) => {
      ctx.yaml(await (await ctx.store()).setSettings(given({ vniPool: opts.vniPool })));
    });
}
