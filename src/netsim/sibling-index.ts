// Finding a list entry among its siblings by its keys without walking them: a gateway's <nvo> holds
// tens of thousands of entries and every edit looks up each entry it names (findMatch), so a scan
// made an edit of k entries into a list of N cost k·N. A parent with many element children gets,
// on the first look-up, a map per (name, keys) from key values to the first such child in document
// order, plus an order stamp per child (document order without walking, for subtree-filter replies).
// Only change-log.ts changes a datastore, and it tells this file: appends keep the index, an insert
// in the middle or a change to an entry's key leaf drops it (rebuilt on the next look-up).
import type { Element, Node } from '@xmldom/xmldom';

// Below this many siblings a scan is as cheap as a map and costs no memory.
const INDEX_FROM = 32;

interface Group {
  name: string;
  ns: string | null;
  keys: string[];
  byKey: Map<string, Element>;
  /** Children whose key values an earlier sibling already has: removing the first then needs a rescan. */
  dups: number;
}

interface ParentIndex {
  groups: Map<string, Group>;
}

const indexes = new WeakMap<Element, ParentIndex>();
const stamps = new WeakMap<Element, number>();
let nextStamp = 1;

const groupId = (ns: string | null, name: string, keys: readonly string[]) => `${String(ns)}\u0000${name}\u0000${keys.join('\u0000')}`;

// A key leaf's value as findMatch has always read it: the first child of that name in the entry's namespace.
function keyValue(el: Element, k: string): string | undefined {
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === k && (n as Element).namespaceURI === el.namespaceURI) return leafValue(n as Element);
  }
  return undefined;
}

export function leafValue(el: Element): string {
  const f = el.firstChild;
  if (!f) return '';
  if (f.nodeType === 3 && !f.nextSibling) return (f.nodeValue ?? '').trim();
  return (el.textContent ?? '').trim();
}

// undefined (no such key leaf) must not equal any value: \u0001 never appears in XML text.
const keyString = (values: readonly (string | undefined)[]) => values.map((v) => (v === undefined ? '\u0001' : v)).join('\u0000');
const keyOf = (el: Element, keys: readonly string[]) => keyString(keys.map((k) => keyValue(el, k)));

function addTo(g: Group, el: Element): void {
  const k = keyOf(el, g.keys);
  if (g.byKey.has(k)) g.dups++;
  else g.byKey.set(k, el);
}

function build(parent: Element, ns: string | null, name: string, keys: readonly string[]): Group {
  let idx = indexes.get(parent);
  if (!idx) {
    idx = { groups: new Map() };
    indexes.set(parent, idx);
    for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) stamps.set(n as Element, nextStamp++);
  }
  const g: Group = { name, ns, keys: [...keys], byKey: new Map(), dups: 0 };
  for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === ns) addTo(g, n as Element);
  }
  idx.groups.set(groupId(ns, name, keys), g);
  return g;
}

/**
 * The first child of `parent` named `name` in `ns` whose key leaves `keys` hold `values` (a key
 * without a leaf: undefined); no keys: the first child of that name. Same answer as a scan.
 */
export function findKeyed(parent: Element, ns: string | null, name: string, keys: readonly string[], values: readonly (string | undefined)[]): Element | undefined {
  const g = indexes.get(parent)?.groups.get(groupId(ns, name, keys));
  if (g) return g.byKey.get(keyString(values));
  let seen = 0;
  for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    if (++seen > INDEX_FROM) return build(parent, ns, name, keys).byKey.get(keyString(values));
    const c = n as Element;
    if (c.localName === name && c.namespaceURI === ns && keys.every((k, i) => keyValue(c, k) === values[i])) return c;
  }
  return undefined;
}

/**
 * For subtree filters: the children of `parent` named `name` in `ns` whose leaves `leaves` hold
 * one of `valueSets`, each with its document order; null when duplicates make the index ambiguous
 * or `parent` is small (then scan). An index by exactly those leaves, in any order, serves; else
 * one is built.
 */
export function lookupIndexed(parent: Element, ns: string | null, name: string, leaves: readonly string[], valueSets: Iterable<readonly string[]>): { el: Element; order: number }[] | null {
  const idx = indexes.get(parent);
  let g = idx && [...idx.groups.values()].find((x) => x.name === name && x.ns === ns && x.keys.length === leaves.length && x.keys.every((k) => leaves.includes(k)));
  if (!g) {
    let seen = 0;
    for (let n: Node | null = parent.firstChild; n && seen <= INDEX_FROM; n = n.nextSibling) if (n.nodeType === 1) seen++;
    if (seen <= INDEX_FROM) return null;
    g = build(parent, ns, name, leaves);
  }
  if (g.dups > 0) return null;
  const pos = g.keys.map((k) => leaves.indexOf(k));
  const out: { el: Element; order: number }[] = [];
  for (const vals of valueSets) {
    const el = g.byKey.get(keyString(pos.map((p) => vals[p])));
    if (el) out.push({ el, order: stamps.get(el)! });
  }
  return out;
}

// ---- maintenance, called by change-log.ts after each change to a datastore ----

function groupsFor(idx: ParentIndex, el: Element): Group[] {
  const out: Group[] = [];
  for (const g of idx.groups.values()) if (g.name === el.localName && g.ns === el.namespaceURI) out.push(g);
  return out;
}

/** `el` was inserted into `parent` before `before` (null: at the end). */
export function inserted(parent: Element, el: Node, before: Node | null): void {
  keyTouched(parent, el);
  const idx = indexes.get(parent);
  if (!idx || el.nodeType !== 1) return;
  // document order of an insert in the middle would need a renumbering: drop, rebuild when asked
  if (before !== null) return void indexes.delete(parent);
  stamps.set(el as Element, nextStamp++);
  for (const g of groupsFor(idx, el as Element)) addTo(g, el as Element);
}

/** `el` was removed from `parent`. */
export function removed(parent: Element, el: Node): void {
  keyTouched(parent, el);
  const idx = indexes.get(parent);
  if (!idx || el.nodeType !== 1) return;
  for (const g of groupsFor(idx, el as Element)) {
    const k = keyOf(el as Element, g.keys);
    if (g.dups > 0 || g.byKey.get(k) !== el) return void indexes.delete(parent);
    g.byKey.delete(k);
  }
}

/** `el` took `old`'s place in `parent`. */
export function replaced(parent: Element, el: Element, old: Element): void {
  keyTouched(parent, el);
  const idx = indexes.get(parent);
  if (!idx) return;
  if (el.localName !== old.localName || el.namespaceURI !== old.namespaceURI) return void indexes.delete(parent);
  for (const g of groupsFor(idx, old)) {
    const k = keyOf(old, g.keys);
    if (g.dups > 0 || g.byKey.get(k) !== old || keyOf(el, g.keys) !== k) return void indexes.delete(parent);
    g.byKey.set(k, el); // same key: keeps its place in the map
  }
  stamps.set(el, stamps.get(old) ?? nextStamp++);
}

/** A leaf's text changed. */
export function textChanged(leaf: Element): void {
  keyTouched(leaf, null);
}

// Something changed under `parent`: if that is inside one of the key leaves by which an entry is
// indexed in its own parent (at any depth: a key's value is its text), that index is stale.
function keyTouched(parent: Element, child: Node | null): void {
  let c: Node | null = child;
  for (let entry: Node | null = parent; entry && entry.nodeType === 1; c = entry, entry = entry.parentNode) {
    if (!c || c.nodeType !== 1) continue;
    const up = entry.parentNode as Element | null;
    const idx = up && indexes.get(up);
    if (!idx) continue;
    const e = entry as Element;
    for (const g of idx.groups.values()) {
      if (g.name === e.localName && g.ns === e.namespaceURI && g.keys.includes((c as Element).localName ?? '')) {
        indexes.delete(up);
        break;
      }
    }
  }
}
