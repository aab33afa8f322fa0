// Whole-datastore checks against the known YANG modules (RFC 6241 §8.6 validate, and before every
// commit): values, mandatory leaves (RFC 7950 §7.6.5) and leafref targets (RFC 7950 §9.9, reported
// as data-missing / instance-required per §15.5). After an edit of a store that passed them, only
// what the edit changed is looked at (validateChanges: the new and changed nodes, the parents that
// lost children, and for a leafref target that went away the leafrefs that could name it); any
// doubt, and any error, goes to the whole-store check, so the rpc-errors are always the whole
// store's, in its order.
import type { Element, Node } from '@xmldom/xmldom';
import { children } from '../drivers/netconf/xml.ts';
import type { ChangeLog } from './change-log.ts';
import type { RpcErrorSpec } from './device-error.ts';
import { MODULES } from './nvo3-lab.ts';
import { typeError, type SchemaNode } from './schema.ts';
import { anyWithLeaf, findKeyed } from './sibling-index.ts';
import { PathNames, keysOf, moduleByNs, value } from './tree.ts';

type HasTarget = (ns: string, path: string[], v: string) => boolean;

function checker(hasTarget: HasTarget) {
  const errors: RpcErrorSpec[] = [];
  const names = new PathNames();
  const fail = (spec: Omit<RpcErrorSpec, 'pathNs'>) => errors.push({ ...spec, pathNs: names.ns });
  const walk = (el: Element, sn: SchemaNode | undefined, path: string) => {
    const here = `${path}/${names.step(el, keysOf(el, sn))}`;
    if (!sn) return fail({ type: 'application', tag: 'unknown-element', path: here, message: `unknown element ${el.localName}`, info: { 'bad-element': el.localName ?? '' } });
    if (sn.kind === 'leaf' || sn.kind === 'leaf-list') {
      const bad = typeError(sn.type, value(el));
      if (bad) return fail({ type: 'application', tag: 'invalid-value', appTag: bad.appTag, path: here, message: bad.message, info: { 'bad-element': el.localName ?? '', 'bad-value': value(el) } });
      if (sn.kind === 'leaf' && sn.leafref && !hasTarget(el.namespaceURI ?? '', sn.leafref, value(el)))
        fail({ type: 'application', tag: 'data-missing', appTag: 'instance-required', path: here, message: `${el.localName} ${value(el)} refers to /${sn.leafref.join('/')} '${value(el)}', which does not exist`, info: { 'bad-element': el.localName ?? '', 'bad-value': value(el) } });
      return;
    }
    for (const [name, c] of Object.entries(sn.children)) {
      if (c.kind === 'leaf' && c.mandatory && !children(el, name).length)
        fail({ type: 'application', tag: 'missing-element', path: here, message: `mandatory ${name} is missing`, info: { 'bad-element': name } });
    }
    for (const c of children(el)) walk(c, c.namespaceURI === el.namespaceURI ? sn.children[c.localName ?? ''] : undefined, here);
  };
  return { errors, walk };
}

function lacksMandatory(el: Element, sn: Extract<SchemaNode, { children: unknown }>): boolean {
  for (const [name, c] of Object.entries(sn.children)) if (c.kind === 'leaf' && c.mandatory && !children(el, name).length) return true;
  return false;
}

export function validateStore(store: Element): RpcErrorSpec[] {
  const refCache = new Map<string, Set<string>>();
  const targets = (ns: string, path: string[]) => {
    const id = `${ns} ${path.join('/')}`;
    let set = refCache.get(id);
    if (!set) {
      set = new Set();
      let level = [store];
      for (const step of path) level = level.flatMap((e) => children(e, step).filter((c) => c.namespaceURI === ns));
      for (const e of level) set.add(value(e));
      refCache.set(id, set);
    }
    return set;
  };
  const c = checker((ns, path, v) => targets(ns, path).has(v));
  for (const top of children(store)) {
    const m = moduleByNs.get(top.namespaceURI ?? '');
    if (m) c.walk(top, m.top[top.localName ?? ''], '');
  }
  return c.errors;
}

/** The errors of `store`, which passed validateStore before the changes in `log` were made to it. */
export function validateChanges(store: Element, log: ChangeLog): RpcErrorSpec[] {
  return changesLookValid(store, log) ? [] : validateStore(store);
}

// Every leafref target in the known modules, e.g. urn:nvo3:lab nvo/vlan/id.
const TARGETS: { ns: string; path: string[] }[] = MODULES.flatMap((m) => {
  const out: { ns: string; path: string[] }[] = [];
  const visit = (sn: SchemaNode) => {
    if (sn.kind === 'leaf' && sn.leafref && !out.some((t) => t.path.join('/') === sn.leafref!.join('/'))) out.push({ ns: m.namespace, path: sn.leafref });
    if (sn.kind === 'container' || sn.kind === 'list') Object.values(sn.children).forEach(visit);
  };
  Object.values(m.top).forEach(visit);
  return out;
});

// Where the leafrefs to each target are: the path of every leafref leaf, by target.
const SOURCES = new Map<string, { ns: string; steps: string[]; kinds: SchemaNode['kind'][] }[]>();
for (const m of MODULES) {
  const visit = (name: string, sn: SchemaNode, steps: string[], kinds: SchemaNode['kind'][]) => {
    if (sn.kind === 'leaf' && sn.leafref) {
      const id = `${m.namespace} ${sn.leafref.join('/')}`;
      SOURCES.set(id, [...(SOURCES.get(id) ?? []), { ns: m.namespace, steps: [...steps, name], kinds }]);
    }
    if (sn.kind === 'container' || sn.kind === 'list') for (const [n, c] of Object.entries(sn.children)) visit(n, c, [...steps, name], [...kinds, sn.kind]);
  };
  for (const [n, sn] of Object.entries(m.top)) visit(n, sn, [], []);
}

// Sound, not complete: false only when no leafref in the store can hold `v` for this target —
// leaves in a list found through the sibling index (refs), in containers by a look.
function referencedIn(store: Element): (ns: string, target: string[], v: string) => boolean {
  return (ns, target, v) => {
    for (const src of SOURCES.get(`${ns} ${target.join('/')}`) ?? []) {
      const listAt = src.kinds.lastIndexOf('list');
      // only the shape a flat module has: containers, then at most one list holding the leaf
      if (listAt !== -1 && listAt !== src.kinds.length - 1) return true;
      const upTo = listAt === -1 ? src.steps.length - 1 : listAt;
      let level = [store];
      for (const step of src.steps.slice(0, upTo)) level = level.flatMap((e) => children(e, step).filter((c) => c.namespaceURI === ns));
      const leaf = src.steps.at(-1)!;
      for (const e of level) {
        if (listAt === -1 ? children(e, leaf).some((c) => c.namespaceURI === ns && value(c) === v) : anyWithLeaf(e, ns, src.steps[listAt]!, leaf, v)) return true;
      }
    }
    return false;
  };
}

// Sound, not complete: true only when a target with this value exists (a list entry found by its
// key in the sibling index); false sends the caller to the whole-store check.
function hasTargetIn(store: Element): HasTarget {
  return (ns, path, v) => {
    if (path.length < 2) return false;
    let level = [store];
    for (const step of path.slice(0, -2)) level = level.flatMap((e) => children(e, step).filter((c) => c.namespaceURI === ns));
    return level.some((e) => findKeyed(e, ns, path.at(-2)!, [path.at(-1)!], [v]) !== undefined);
  };
}

// A leaf that may be a leafref target (its name and its parent's are the target path's last two).
const targetsAt = (leaf: Element, parent: Node | null) =>
  TARGETS.filter((t) => leaf.localName === t.path.at(-1) && leaf.namespaceURI === t.ns && parent?.nodeType === 1 && (parent as Element).localName === t.path.at(-2) && (parent as Element).namespaceURI === t.ns);

function changesLookValid(store: Element, log: ChangeLog): boolean {
  const hasTarget = hasTargetIn(store);
  const referenced = referencedIn(store);
  // a target value that went away is fine while nothing refers to it
  const gone = (t: { ns: string; path: string[] }, v: string) => !hasTarget(t.ns, t.path, v) && referenced(t.ns, t.path, v);
  const c = checker(hasTarget);
  const isTargetLeaf = (el: Element) => TARGETS.some((t) => el.localName === t.path.at(-1) && el.namespaceURI === t.ns);
  // values that were targets and may be gone: each must still be there
  const stillThere = (root: Element, parent: Element): boolean => {
    const stack: [Element, Node | null][] = [[root, parent]];
    while (stack.length) {
      const [el, p] = stack.pop()!;
      for (const t of targetsAt(el, p)) if (gone(t, value(el))) return false;
      for (const k of children(el)) stack.push([k, el]);
    }
    return true;
  };
  const walkRoots = new Set<Element>();
  const shrunk = new Set<Element>();
  for (const ch of log.changes) {
    switch (ch.kind) {
      case 'insert':
        // an element inside a leaf changes that leaf's value: a target's value, perhaps
        if (isTargetLeaf(ch.parent)) return false;
        walkRoots.add(ch.node);
        break;
      case 'remove':
        if (isTargetLeaf(ch.parent) || !stillThere(ch.node, ch.parent)) return false;
        shrunk.add(ch.parent);
        break;
      case 'replace':
        if (isTargetLeaf(ch.parent) || !stillThere(ch.old, ch.parent)) return false;
        walkRoots.add(ch.node);
        break;
      case 'text':
        for (const t of targetsAt(ch.leaf, ch.leaf.parentNode)) if (gone(t, ch.oldValue)) return false;
        walkRoots.add(ch.leaf);
        break;
    }
  }
  for (const el of [...walkRoots, ...shrunk]) {
    const at = locate(store, el, walkRoots);
    if (at === 'skip') continue;
    if (!at) return false;
    if (walkRoots.has(el) || at.el !== el || at.sn.kind === 'leaf' || at.sn.kind === 'leaf-list') c.walk(at.el, at.sn, '');
    else if (lacksMandatory(el, at.sn)) return false;
    if (c.errors.length) return false;
  }
  return true;
}

// Where `el` sits in the schema: its own schema node, or the leaf above it whose value it is part
// of; 'skip' when a later change took it out of the store, when a changed ancestor is checked
// whole, or in a namespace without a schema; undefined when it has no schema node under a known module (an error: let the whole check say).
function locate(store: Element, el: Element, covered: Set<Element>): { el: Element; sn: SchemaNode } | 'skip' | undefined {
  const chain: Element[] = [];
  let n: Node | null = el;
  for (; n && n !== store; n = n.parentNode) {
    if (n !== el && covered.has(n as Element)) return 'skip';
    chain.push(n as Element);
  }
  if (n !== store) return 'skip';
  chain.reverse();
  const m = moduleByNs.get(chain[0]!.namespaceURI ?? '');
  if (!m) return 'skip';
  let at = chain[0]!;
  let sn: SchemaNode | undefined = m.top[at.localName ?? ''];
  for (const next of chain.slice(1)) {
    if (!sn) return undefined;
    if (sn.kind === 'leaf' || sn.kind === 'leaf-list') break;
    sn = next.namespaceURI === at.namespaceURI ? sn.children[next.localName ?? ''] : undefined;
    at = next;
  }
  return sn ? { el: at, sn } : undefined;
}
