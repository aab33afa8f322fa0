// Configuration as an XML tree (@xmldom/xmldom): how a data node is recognised (leaf, list entry by
// its keys, leaf-list entry by its value), how a path to it is written for <error-path>, and how
// incoming elements are copied into a datastore.
import { DOMImplementation, type Document, type Element, type Node } from '@xmldom/xmldom';
import { NC_NS, children } from '../drivers/netconf/xml.ts';
import { MODULES } from './nvo3-lab.ts';
import { childSchema, type Module, type SchemaNode } from './schema.ts';
import { findKeyed, keyValue, leafValue } from './sibling-index.ts';

export const moduleByNs = new Map<string, Module>(MODULES.map((m) => [m.namespace, m]));

export function newDatastore(): Element {
  const doc: Document = new DOMImplementation().createDocument(NC_NS, 'data', null);
  return doc.documentElement!;
}

export const isLeaf = (el: Element) => children(el).length === 0;
// A leaf holds one text node; textContent would walk the subtree for it (a hot path: every key compare).
export const value = leafValue;

/** The schema node of `el`, given its parent's (undefined at the top of a datastore). */
export function schemaOf(el: Element, parent: SchemaNode | undefined, top: boolean): SchemaNode | undefined {
  if (top) return moduleByNs.get(el.namespaceURI ?? '')?.top[el.localName ?? ''];
  return childSchema(parent, el.localName ?? '');
}

// Without a schema, YANG's encoding rule decides: a list entry's keys come first (RFC 7950
// §7.8.5), so an element whose first child is a leaf is taken as an entry keyed by that leaf.
export function keysOf(el: Element, sn: SchemaNode | undefined): string[] | 'leaf-list' | null {
  if (sn) return sn.kind === 'list' ? sn.key : sn.kind === 'leaf-list' ? 'leaf-list' : null;
  if (moduleByNs.has(el.namespaceURI ?? '')) return null;
  const first = children(el)[0];
  return first && isLeaf(first) ? [first.localName ?? ''] : null;
}

export function keyValues(el: Element, keys: string[]): (string | undefined)[] {
  return keys.map((k) => keyValue(el, k));
}

/** The sibling in `parent` that is the same data node as `el`. */
// A list entry or a named node is looked up in the sibling index (a gateway's list has tens of
// thousands); a leaf-list entry by one pass over the siblings.
export function findMatch(parent: Element, el: Element, keys: string[] | 'leaf-list' | null): Element | undefined {
  if (keys !== 'leaf-list') return findKeyed(parent, el.namespaceURI, el.localName ?? '', keys ?? [], keys ? keyValues(el, keys) : []);
  const want = value(el);
  for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const c = n as Element;
    if (c.localName === el.localName && c.namespaceURI === el.namespaceURI && value(c) === want) return c;
  }
  return undefined;
}

/** Prefixes for error paths: a module's own, nc for NETCONF, n1.. for schemaless namespaces. */
export class PathNames {
  readonly ns: Record<string, string> = { nc: NC_NS };
  private byUri = new Map<string, string>([[NC_NS, 'nc']]);
  prefix(uri: string): string {
    let p = this.byUri.get(uri);
    if (!p) {
      const m = moduleByNs.get(uri);
      p = m && !(m.prefix in this.ns) ? m.prefix : `n${this.byUri.size}`;
      this.byUri.set(uri, p);
      this.ns[p] = uri;
    }
    return p;
  }
  step(el: Element, keys: string[] | 'leaf-list' | null): string {
    const p = this.prefix(el.namespaceURI ?? '');
    const name = `${p}:${el.localName}`;
    if (keys === 'leaf-list') return `${name}[.=${quote(value(el))}]`;
    if (!keys) return name;
    return name + keys.map((k, i) => `[${p}:${k}=${quote(keyValues(el, keys)[i] ?? '')}]`).join('');
  }
}

const quote = (s: string) => (s.includes("'") ? `"${s}"` : `'${s}'`);

/** A deep copy of an incoming element for a datastore: no operation attributes, no whitespace. */
export function importClean(into: Element, el: Element): Element {
  const copy = deepCopy(el, into.ownerDocument!);
  clean(copy);
  return copy;
}

function clean(el: Element): void {
  el.removeAttributeNS(NC_NS, 'operation');
  for (const a of Array.from(el.attributes)) if (a.value === NC_NS && a.name.startsWith('xmlns:')) el.removeAttribute(a.name);
  if (isLeaf(el)) {
    const v = value(el);
    while (el.firstChild) el.removeChild(el.firstChild);
    if (v) el.appendChild(el.ownerDocument!.createTextNode(v));
    return;
  }
  for (let n: Node | null = el.firstChild; n; ) {
    const next: Node | null = n.nextSibling;
    const op = n.nodeType === 1 ? (n as Element).getAttributeNS(NC_NS, 'operation') : null;
    // text between elements is layout; delete/remove inside a created or replaced subtree leave nothing
    if (n.nodeType !== 1 || op === 'delete' || op === 'remove') el.removeChild(n);
    else clean(n as Element);
    n = next;
  }
}


// Built with the document's factory methods: xmldom's generic cloneNode (and importNode) copies
// every own property of every node (2.5× slower on a 3,000-entry store). A datastore and an edit's
// payload hold elements and text; anything else is imported the generic way.
export function deepCopy(root: Element, doc = root.ownerDocument!): Element {
  const copy = (el: Element): Element => {
    const c = doc.createElementNS(el.namespaceURI, el.tagName);
    for (let i = 0; i < el.attributes.length; i++) {
      const a = el.attributes.item(i)!;
      c.setAttributeNS(a.namespaceURI, a.name, a.value);
    }
    for (let n: Node | null = el.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1) c.appendChild(copy(n as Element));
      else if (n.nodeType === 3) c.appendChild(doc.createTextNode(n.nodeValue ?? ''));
      else c.appendChild(doc.importNode(n, true));
    }
    return c;
  };
  return copy(root);
}
