// An agent's configuration file (hNVE agent, gateway agent): a YAML mapping, or one clear line why not.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { invalid } from '../errors.ts';

export function readConfigMapping(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw invalid('config', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const parsed = parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('config', `${file} is not a YAML mapping`);
  return parsed as Record<string, unknown>;
}
