// Renders push payloads from templates/xmpp/*.hbs. Handlebars' double-stash escapes every value for
// XML (& < > " ' ` =), and a template with a triple-stash is refused at load: a tenant name or a
// description can never inject configuration. The rendered text is parsed back so a template that
// produces ill-formed XML fails here, with its name, and not on the agent.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { DOMParser, type Element as DomElement, type Node as DomNode } from '@xmldom/xmldom';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { DeviceChange, DeviceConfig } from '../../model/device-config.ts';

export const TEMPLATE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../templates/xmpp');

type TemplateName = 'push' | 'sync' | 'state';

function load(hb: typeof Handlebars, dir: string, file: string): string {
  const text = readFileSync(join(dir, file), 'utf8');
  if (text.includes('{{{') || text.includes('{{&')) throw new Error(`templates/xmpp/${file}: unescaped output ({{{ or {{&) is not allowed`);
  return text;
}

function toLtx(node: DomElement): Element {
  const attrs: Record<string, string> = {};
  for (let i = 0; i < node.attributes.length; i++) {
    const a = node.attributes.item(i)!;
    attrs[a.name] = a.value;
  }
  const el = xml(node.tagName, attrs);
  for (let c: DomNode | null = node.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1) el.append(toLtx(c as DomElement));
    else if (c.nodeType === 3 && c.nodeValue && c.nodeValue.trim() !== '') el.append(c.nodeValue);
  }
  return el;
}

export class PushRenderer {
  private readonly templates: Record<TemplateName, Handlebars.TemplateDelegate>;

  constructor(dir = TEMPLATE_DIR) {
    const hb = Handlebars.create();
    hb.registerPartial('entries', load(hb, dir, '_entries.hbs'));
    const compile = (n: TemplateName) => hb.compile(load(hb, dir, `${n}.hbs`), { strict: true, noEscape: false });
    this.templates = { push: compile('push'), sync: compile('sync'), state: compile('state') };
  }

  private render(name: TemplateName, data: object): Element {
    const text = this.templates[name](data);
    const errors: string[] = [];
    const doc = new DOMParser({ onError: (_level, msg) => errors.push(msg) }).parseFromString(text, 'text/xml');
    if (errors.length || !doc.documentElement) throw new Error(`templates/xmpp/${name}.hbs rendered ill-formed XML: ${errors.join('; ')}`);
    return toLtx(doc.documentElement);
  }

  push(device: string, base: number, revision: number, change: DeviceChange): Element {
    return this.render('push', { device, base, revision, change });
  }

  sync(device: string, revision: number, config: DeviceConfig): Element {
    return this.render('sync', { device, revision, config });
  }

  stateQuery(device: string): Element {
    return this.render('state', { device });
  }
}
