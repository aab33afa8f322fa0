// zod results → NvoError with one issue per field, paths written the way people read them. Every
// issue is kept and shown: a 100-device inventory must be fixable in one pass, not one error a run.
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
  return ordered.flatMap((i): FieldIssue[] => {
    const field = formatPath([...prefix, ...i.path]);
    // One issue per unknown key, named by its own path, so a client can point at the typo.
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ field: formatPath([...prefix, ...i.path, k]), reason: 'unknown field' }));
    if (i.code === 'invalid_type' && /received undefined/.test(i.message)) return [{ field, reason: 'is required' }];
    if (i.code === 'invalid_value' && i.values.length > 1) return [{ field, reason: `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    if (i.code === 'invalid_value' && i.values.length === 1) return [{ field, reason: `must be ${JSON.stringify(i.values[0])}` }];
    if ((i.code === 'too_big' || i.code === 'too_small') && /^Too (big|small):/.test(i.message)) return [{ field, reason: boundReason(i) }];
    return [{ field, reason: i.message }];
  });
}

// zod's default words for a bound ("Too big: expected number to be <=65535") said the way the rest reads.
function boundReason(i: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const big = i.code === 'too_big';
  const limit = Number(big ? (i as z.core.$ZodIssueTooBig).maximum : (i as z.core.$ZodIssueTooSmall).minimum);
  const word = big ? (i.inclusive ? 'at most' : 'less than') : i.inclusive ? 'at least' : 'more than';
  const unit = i.origin === 'string' ? ` character${limit === 1 ? '' : 's'}` : i.origin === 'array' || i.origin === 'set' ? ` item${limit === 1 ? '' : 's'}` : '';
  return i.origin === 'number' || i.origin === 'int' || i.origin === 'bigint' ? `must be ${word} ${limit}` : `must have ${word} ${limit}${unit}`;
}

/** `field: reason`, or the reason alone for the whole document. */
export function describeIssue(i: FieldIssue): string {
  return i.field ? `${i.field}: ${i.reason}` : i.reason;
}

/** Parses or throws `invalid-input` naming every field at fault. `what` starts the message. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix: readonly PropertyKey[] = []): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw invalidInput(what, issuesOf(r.error, prefix));
}

/** `invalid-input` whose message names every field at fault, `; `-separated after the first (rules
 *  beyond a schema use it too). The CLI prints the further issues one a line (src/cli/main.ts). */
export function invalidInput(what: string, issues: FieldIssue[]): NvoError {
  const all = issues.length ? issues : [{ field: '', reason: 'is not valid' }];
  return new NvoError('invalid-input', `invalid ${what}: ${all.map(describeIssue).join('; ')}`, issues);
}
