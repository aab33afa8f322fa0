// What every command needs: the inventory store (opened on first use, closed at exit so the CLI
// ends promptly) and output for people or scripts.
import { stringify } from 'yaml';
import { invalid } from '../errors.ts';
import { InventoryStore } from '../store/inventory-store.ts';
import { renderTable, type Column } from './table.ts';

export interface CliContext {
  /** The store on REDIS_URL / NVO_PREFIX, with the dialect registry's rule for devices. */
  store(): Promise<InventoryStore>;
  print(text: string): void;
  json(value: unknown): void;
  yaml(value: unknown): void;
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void;
  close(): Promise<void>;
}

export function createContext(): CliContext {
  let store: Promise<InventoryStore> | null = null;
  const write = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  return {
    store() {
      store ??= (async () => {
        // Loaded here, not at the top: commands that never touch a device do not pay for the templates.
        const { dialectIssues } = await import('../api/dialect-check.ts');
        // One retry, not ioredis's default twenty: a CLI should say "cannot reach Redis" at once.
        return InventoryStore.open({ name: 'nvo-cli', maxRetriesPerRequest: 1, deviceRules: dialectIssues });
      })();
      return store;
    },
    print: write,
    json: (value) => write(JSON.stringify(value, null, 2)),
    yaml: (value) => write(stringify(value)),
    table: (rows, columns) => write(renderTable(rows, columns)),
    async close() {
      if (store) await (await store).close();
    },
  };
}

/** "a,b, c" → ['a','b','c']; commander calls it once per option. */
export const commaList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * A whole-number option, checked here so that the error names the flag the user typed (`--vni`), not
 * the schema field it fills, and says what was given: `--vni: must be an integer 1..16777215, got 'abc'`.
 */
export function intArg(flag: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const t = v.trim();
    if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) throw invalid(flag, `must be an integer ${min}..${max}, got '${v}'`);
    return Number(t);
  };
}

/** Copies only the options the user gave, so the schema's defaults apply to the rest. */
export function given(pairs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(pairs).filter(([, v]) => v !== undefined));
}
