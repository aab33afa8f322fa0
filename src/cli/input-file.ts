// Reads a YAML or JSON file (or stdin for "-") and, when validation fails, points at the line of the
// first field at fault, the way a compiler points at a source line.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { NvoError } from '../errors.ts';

export interface InputFile {
  path: string;
  value: unknown;
  /** Re-throws an `invalid-input` error prefixed with `file:line:` of its first issue; other errors as they are. */
  annotate(e: unknown): never;
}

export function readInputFile(path: string): InputFile {
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (e) {
    throw new NvoError('invalid-input', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [{ field: 'file', reason: 'cannot be read' }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const bad = doc.errors[0];
  if (bad) {
    const at = bad.pos ? `:${lines.linePos(bad.pos[0]).line}` : '';
    throw new NvoError('invalid-input', `${path}${at}: not valid YAML or JSON: ${bad.message.split('\n')[0]}`, [{ field: 'file', reason: bad.message.split('\n')[0]! }]);
  }
  return {
    path,
    value: doc.toJS(),
    annotate(e: unknown): never {
      if (!(e instanceof NvoError) || e.code !== 'invalid-input' || !e.issues[0]) throw e;
      const line = locate(doc, lines, e.issues[0].field, e.issues[0].reason);
      throw new NvoError(e.code, `${path}${line ? `:${line}` : ''}: ${e.message}`, e.issues, e.details);
    },
  };
}

function locate(doc: Document, lines: LineCounter, field: string, reason: string): number | null {
  const path: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) path.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  // The deepest node that exists: a missing field is reported on the object that lacks it.
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = node && typeof node === 'object' && 'range' in node ? (node.range as [number, number, number] | null | undefined) : undefined;
    if (!range) continue;
    const unknownKey = /unknown field '([^']+)'/.exec(reason)?.[1];
    if (n === path.length && unknownKey && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === unknownKey);
      const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (keyRange) return lines.linePos(keyRange[0]).line;
    }
    return lines.linePos(range[0]).line;
  }
  return null;
}
