// Finding a list entry among its siblings by its keys without walking them: a gateway's <nvo> holds
// tens of thousands of entries and every edit looks up each entry it names (findMatch), so a scan
// made an edit of k entries into a list of N cost k·N. A parent with many element children gets,
// on the first look-up, a map per (name, keys) from key values to the first such child in document
// order, plus an order stamp per child (document order without walking, for subtree-filter replies),
// and on demand a map from a leaf's values to the children holding them (who refers to a leafref
// target, for validate.ts). Only change-log.ts changes a datastore, and it tells this file: appends
// and removals keep the index, an insert in the middle or a change to an indexed leaf of an entry
// drops it (rebuilt on the next look-up).
import type { Element, Node } from '@xmldom/xmldom';
import { children } from '../drivers/netconf/xml.ts';

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

// Children by the values of one of their leaves, all of them (a value can be in many): which
// entries refer to a leafref target (validate.ts asks when a target goes away).
interface RefGroup {
  name: string;
  ns: string | null;
  leaf: string;
  byValue: Map<string, Set<Element>>;
}

interface ParentIndex {
  groups: Map<string, Group>;
  refs: Map<string, RefGroup>;
}

const indexes = new WeakMap<Element, ParentIndex>();
const stamps = new WeakMap<Element, number>();
let nextStamp = 1;

const groupId = (ns: string | null, name: string, keys: readonly string[]) => `${String(ns)}\u0000${name}\u0000${keys.join('\u0000')}`;

// A key leaf's value as findMatch has always read it: the first child of that name in the entry's namespace.
/** The value of key leaf `k` of list entry `el`, or undefined when it has none. */
export function keyValue(el: Element, k: string): string | undefined {
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

function indexOf(parent: Element): ParentIndex {
  let idx = indexes.get(parent);
  if (!idx) {
    idx = { groups: new Map(), refs: new Map() };
    indexes.set(parent, idx);
    for (let n: Node | null = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) stamps.set(n as Element, nextStamp++);
  }
  return idx;
}

function build(parent: Element, ns: string | null, name: string, keys: readonly string[]): Group {
  const idx = indexOf(parent);
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

// Every child of `el` named `leaf` in `el`'s namespace counts, as the YANG checks walk them all.
function leafValues(el: Element, leaf: string): string[] {
  const out: string[] = [];
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).localName === leaf && (n as Element).namespaceURI === el.namespaceURI) out.push(leafValue(n as Element));
  return out;
}

function addRef(g: RefGroup, el: Element, add: boolean): void {
  for (const v of leafValues(el, g.leaf)) {
    let set = g.byValue.get(v);
    if (!set) g.byValue.set(v, (set = new Set()));
    if (add) set.add(el);
    else if (set.delete(el) && set.size === 0) g.byValue.delete(v);
  }
}

/** Whether a child of `parent` named `name` in `ns` has a leaf `leaf` holding `v`. */
export function anyWithLeaf(parent: Element, ns: string | null, name: string, leaf: string, v: string): boolean {
  const id = groupId(ns, name, [leaf]);
  let g = indexes.get(parent)?.refs.get(id);
  if (!g) {
    let seen = 0;
    for (let n: Node | null = parent.firstChild; n && seen <= INDEX_FROM; n = n.nextSibling) if (n.nodeType === 1) seen++;
    if (seen <= INDEX_FROM) return children(parent).some((c) => c.localName === name && c.namespaceURI === ns && leafValues(c, leaf).includes(v));
    g = { name, ns, leaf, byValue: new Map() };
    for (const c of children(parent)) if (c.localName === name && c.namespaceURI === ns) addRef(g, c, true);
    indexOf(parent).refs.set(id, g);
  }
  return g.byValue.has(v);
}

const refsFor = (idx: ParentIndex, el: Element) => [...idx.refs.values()].filter((g) => g.name === el.localName && g.ns === el.namespaceURI);

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
  for (const g of refsFor(idx, el as Element)) addRef(g, el as Element, true);
}

/** `el` was removed from `parent`. */
export function removed(parent: Element, el: Node): void {
  keyTouched(parent, el);
  const idx = indexes.get(parent);
  if (!idx || el.nodeType !== 1) return;
  for (const g of refsFor(idx, el as Element)) addRef(g, el as Element, false);
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
  for (const g of refsFor(idx, old)) {
    addRef(g, old, false);
    addRef(g, el, true);
  }
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
    const leaf = (c as Element).localName ?? '';
    const mine = (g: { name: string; ns: string | null }) => g.name === e.localName && g.ns === e.namespaceURI;
    if ([...idx.groups.values()].some((g) => mine(g) && g.keys.includes(leaf)) || [...idx.refs.values()].some((g) => mine(g) && g.leaf === leaf)) indexes.delete(up);
  }
}
