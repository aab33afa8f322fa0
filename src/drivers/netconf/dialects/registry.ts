// THE list of NETCONF dialects. A dialect is templates/netconf/<name>/edit.hbs plus its traits
// module; the CLI's choices, the docs and the tests all read this list.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { DeviceChange, DeviceConfig } from '../../../model/device-config.ts';
import { NvoError } from '../../../errors.ts';
import { notRenderedKinds, type DialectTraits } from './dialect.ts';
import { junos } from './junos.ts';
import { nvo3Lab } from './nvo3-lab.ts';
import { openconfig } from './openconfig.ts';
import { renderModel, type DeviceIdentity } from './render-model.ts';
import { srlinux } from './srlinux.ts';
import { parseXml } from '../xml.ts';

const DIALECTS: readonly DialectTraits[] = [nvo3Lab, openconfig, srlinux, junos];

export const TEMPLATE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../templates/netconf');

export interface Dialect extends DialectTraits {
  /** The content of <config> for the edit-config that applies `change`; '' when nothing to send. */
  render(change: DeviceChange, device: DeviceIdentity): string;
  /** nvo's part of a <data> reply (or a whole reply text) as a DeviceConfig. */
  parseConfig(xml: string): DeviceConfig;
}

// An environment of our own: helpers registered here never leak into other Handlebars users.
const hbs = Handlebars.create();
hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
// For device models with a single-valued leaf where nvo has a list (SR Linux export-rt).
hbs.registerHelper('first', (a: unknown) => (Array.isArray(a) ? a.slice(0, 1) : []));

const compiled = new Map<string, Dialect>();

export function dialectNames(): string[] {
  return DIALECTS.map((d) => d.name);
}

export function getDialect(name: string): Dialect {
  const cached = compiled.get(name);
  if (cached) return cached;
  const traits = DIALECTS.find((d) => d.name === name);
  if (!traits) throw new NvoError('invalid-input', `dialect '${name}' is not supported; supported dialects are ${dialectNames().join(', ')}`, [{ field: 'dialect', reason: `unknown dialect; one of ${dialectNames().join(', ')}` }]);
  const file = resolve(TEMPLATE_ROOT, name, 'edit.hbs');
  if (!existsSync(file)) throw new NvoError('internal', `dialect ${name} has no template ${file}`);
  const source = readFileSync(file, 'utf8');
  // Every value must be escaped: a tenant name must never inject configuration.
  if (/\{\{\{|\{\{&/.test(source)) throw new NvoError('internal', `${file}: unescaped output ({{{ or {{&) is not allowed`);
  const template = hbs.compile(source, { strict: true });
  const dialect: Dialect = {
    ...traits,
    render(change, device) {
      const model = renderModel(change, device, notRenderedKinds(traits));
      return model.empty ? '' : template(model).replace(/\n\s*\n/g, '\n').trim() + '\n';
    },
    parseConfig(xml) {
      if (!traits.parse) throw new NvoError('invalid-input', `dialect ${name} cannot read configuration back yet`);
      return traits.parse(parseXml(xml));
    },
  };
  compiled.set(name, dialect);
  return dialect;
}

export function parseConfig(dialect: string, xml: string): DeviceConfig {
  return getDialect(dialect).parseConfig(xml);
}
