// The four inventory groups share their shape: add (flags or -f), list, show, rm. Each kind's file
// gives its flags, how they become an input object, and its table columns.
import type { Command } from 'commander';
import { KIND_INFO, type EntityOf, type InventoryKind } from '../model/inventory.ts';
import { invalidInput } from '../model/validate.ts';
import type { CliContext } from './context.ts';
import { readInputFile } from './input-file.ts';
import type { Column } from './table.ts';

export interface GroupSpec<K extends InventoryKind> {
  kind: K;
  name: string;
  description: string;
  /** Adds the kind's flags to `add`. */
  flags(add: Command): void;
  /** The input object from the flags; only flags given end up in it. */
  fromFlags(id: string, opts: Record<string, unknown>): Record<string, unknown>;
  columns: Column<EntityOf[K]>[];
  /** The entity as printed: secrets masked unless `--show-secrets` (only kinds that have secrets set this). */
  present?(entity: EntityOf[K], showSecrets: boolean): EntityOf[K];
}

export function registerInventoryGroup<K extends InventoryKind>(program: Command, ctx: CliContext, spec: GroupSpec<K>): Command {
  const info = KIND_INFO[spec.kind];
  const group = program.command(spec.name).description(spec.description);
  const present = (e: EntityOf[K], opts: { showSecrets?: boolean }) => spec.present?.(e, Boolean(opts.showSecrets)) ?? e;
  const secretsFlag = (c: Command) => (spec.present ? c.option('--show-secrets', 'print passwords instead of ***') : c);

  const add = group
    .command(`add [${info.idField}]`)
    .description(`create a ${info.what} from flags or from a YAML/JSON file`)
    .option('-f, --file <file>', `read the ${info.what} from a YAML or JSON file ("-" for stdin)`)
    .option('--replace', `replace the ${info.what} if it exists`)
    .option('--json', 'print the result as JSON');
  secretsFlag(add);
  spec.flags(add);
  add.action(async (id: string | undefined, opts: Record<string, unknown>) => {
    const file = typeof opts.file === 'string' ? readInputFile(opts.file) : null;
    let input: unknown;
    if (file) {
      input = file.value;
      const inFile = input && typeof input === 'object' ? (input as Record<string, unknown>)[info.idField] : undefined;
      if (id !== undefined && inFile !== undefined && inFile !== id) {
        throw invalidInput(info.what, [{ field: info.idField, reason: `'${String(inFile)}' in ${file.path} differs from '${id}' on the command line` }]);
      }
      if (id !== undefined && input && typeof input === 'object') input = { ...input, [info.idField]: id };
    } else {
      if (id === undefined) throw invalidInput(info.what, [{ field: info.idField, reason: `is required: nvo ${spec.name} add <${info.idField}> … or -f file` }]);
      input = { [info.idField]: id, ...spec.fromFlags(id, opts) };
    }
    const store = await ctx.store();
    const inputId = input && typeof input === 'object' ? String((input as Record<string, unknown>)[info.idField] ?? '') : '';
    try {
      const exists = opts.replace && inputId ? (await store.get(spec.kind, inputId)) !== null : false;
      const saved = exists ? await store.replace(spec.kind, inputId, input) : await store.create(spec.kind, input);
      if (opts.json) ctx.json(present(saved, opts));
      else ctx.print(`${exists ? 'replaced' : 'created'} ${info.what} ${inputId}`);
    } catch (e) {
      if (file) file.annotate(e);
      throw e;
    }
  });

  const listCmd = group
    .command('list')
    .alias('ls')
    .description(`list ${info.plural}`)
    .option('--json', 'print JSON');
  secretsFlag(listCmd).action(async (opts: { json?: boolean; showSecrets?: boolean }) => {
    const items = await (await ctx.store()).list(spec.kind);
    if (opts.json) ctx.json(items.map((e) => present(e, opts)));
    else ctx.table(items, spec.columns);
  });

  const showCmd = group
    .command(`show <${info.idField}>`)
    .description(`show one ${info.what} in full`)
    .option('--json', 'print JSON');
  secretsFlag(showCmd).action(async (id: string, opts: { json?: boolean; showSecrets?: boolean }) => {
    const item = present(await (await ctx.store()).show(spec.kind, id), opts);
    if (opts.json) ctx.json(item);
    else ctx.yaml(item);
  });

  group
    .command(`rm <${info.idField}>`)
    .alias('delete')
    .description(`delete a ${info.what} (refused while something still uses it)`)
    .action(async (id: string) => {
      await (await ctx.store()).remove(spec.kind, id);
      ctx.print(`deleted ${info.what} ${id}`);
    });

  return group;
}
