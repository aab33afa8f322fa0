// zod results → NvoError with one issue per field, paths written the way people read them.
import type { z } from 'zod';
import { NvoError, type FieldIssue } from '../errors.ts';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function issuesOf(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  // An unknown key first: a typo'd `subnett` also makes `subnet` missing, and the typo is the cause.
  const ordered = [...error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  return ordered.map((i) => {
    let reason = i.message;
    if (i.code === 'unrecognized_keys') {
      reason = `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
    } else if (i.code === 'invalid_type' && /received undefined/.test(i.message)) {
      reason = 'is required';
    }
    return { field: formatPath([...prefix, ...i.path]), reason };
  });
}

/** Parses or throws `invalid-input` naming every field at fault. `what` starts the one-line message. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix: readonly PropertyKey[] = []): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw invalidInput(what, issuesOf(r.error, prefix));
}

/** `invalid-input` whose one-line message names the first field at fault (rules beyond a schema use it too). */
export function invalidInput(what: string, issues: FieldIssue[]): NvoError {
  const first = issues[0] ?? { field: '', reason: 'is not valid' };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new NvoError('invalid-input', `invalid ${what}: ${first.field ? `${first.field}: ` : ''}${first.reason}${more}`, issues);
}
