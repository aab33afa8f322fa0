// RFC 6241 §7.2 <edit-config> applied to one datastore tree: the operation attribute (merge,
// replace, create, delete, remove) inherited down the tree from default-operation (merge, replace,
// none), and error-option deciding whether the first error stops, is skipped, or undoes everything
// (every change goes through the caller's change log, which undoes them for rollback-on-error).
import type { Element } from '@xmldom/xmldom';
import { NC_NS, children } from '../drivers/netconf/xml.ts';
import type { ChangeLog } from './change-log.ts';
import { DeviceError, type RpcErrorSpec } from './device-error.ts';
import { typeError, type SchemaNode } from './schema.ts';
import { PathNames, findMatch, importClean, isLeaf, keyValues, keysOf, moduleByNs, schemaOf, value } from './tree.ts';

export type DefaultOperation = 'merge' | 'replace' | 'none';
export type ErrorOption = 'stop-on-error' | 'continue-on-error' | 'rollback-on-error';
type Op = DefaultOperation | 'create' | 'delete' | 'remove';
const OPS = new Set<string>(['merge', 'replace', 'none', 'create', 'delete', 'remove']);

export interface EditOptions {
  defaultOperation: DefaultOperation;
  errorOption: ErrorOption;
  /** Check values and element names against the known YANG modules. */
  checks: boolean;
}

const CONFIG_PATH = '/nc:rpc/nc:edit-config/nc:config';

/** Applies the children of <config> to `store` in place; returns the errors (none: all applied). */
export function applyEdit(store: Element, config: Element, o: EditOptions, log: ChangeLog): RpcErrorSpec[] {
  const e = new Editor(o, log);
  try {
    const incoming = children(config);
    if (o.defaultOperation === 'replace') {
      // "completely replaces the configuration in the target datastore" (§7.2): top-level nodes
      // the new configuration does not name go away.
      for (const old of children(store)) if (!incoming.some((i) => i.localName === old.localName && i.namespaceURI === old.namespaceURI)) log.remove(store, old);
    }
    for (const el of incoming) e.guard(() => e.edit(store, el, o.defaultOperation, undefined, true, CONFIG_PATH));
  } catch (err) {
    if (!(err instanceof DeviceError)) throw err;
    e.errors.push(...err.errors);
  }
  return e.errors;
}

class Editor {
  readonly errors: RpcErrorSpec[] = [];
  private names = new PathNames();
  constructor(
    private o: EditOptions,
    private log: ChangeLog,
  ) {}

  guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof DeviceError) || this.o.errorOption !== 'continue-on-error') throw err;
      this.errors.push(...err.errors);
    }
  }

  private fail(spec: Omit<RpcErrorSpec, 'pathNs'>): never {
    throw new DeviceError({ ...spec, pathNs: this.names.ns });
  }

  edit(parent: Element, inc: Element, inherited: Op, parentSn: SchemaNode | undefined, top: boolean, path: string): void {
    const own = inc.getAttributeNS(NC_NS, 'operation');
    if (own && !OPS.has(own)) this.fail({ type: 'protocol', tag: 'bad-attribute', path: `${path}/${this.names.step(inc, null)}`, message: `operation '${own}' is not one of merge, replace, create, delete, remove`, info: { 'bad-attribute': 'operation', 'bad-element': inc.localName ?? '' } });
    const op = (own || inherited) as Op;
    const sn = schemaOf(inc, parentSn, top);
    const keys = keysOf(inc, sn);
    const here = `${path}/${this.names.step(inc, keys)}`;
    if (Array.isArray(keys)) {
      const missing = keys.find((_, i) => keyValues(inc, keys)[i] === undefined);
      if (missing) this.fail({ type: 'protocol', tag: 'missing-element', path: here, message: `list entry without its key '${missing}'`, info: { 'bad-element': missing } });
    }
    if (op !== 'delete' && op !== 'remove') this.check(inc, sn, parentSn, top, here, op === 'create' || op === 'replace');
    const existing = findMatch(parent, inc, keys);
    switch (op) {
      case 'create':
        if (existing) this.fail({ type: 'application', tag: 'data-exists', path: here, message: `${inc.localName} already exists`, info: { 'bad-element': inc.localName ?? '' } });
        this.log.append(parent, importClean(parent, inc));
        return;
      case 'replace': {
        const copy = importClean(parent, inc);
        if (existing) this.log.replace(parent, copy, existing);
        else this.log.append(parent, copy);
        return;
      }
      case 'delete':
        if (!existing) this.fail({ type: 'application', tag: 'data-missing', path: here, message: `${inc.localName} does not exist`, info: { 'bad-element': inc.localName ?? '' } });
        this.log.remove(parent, existing);
        return;
      case 'remove':
        if (existing) this.log.remove(parent, existing);
        return;
    }
    // merge or none
    if (isLeaf(inc)) {
      if (op === 'none') return;
      if (existing) this.log.setValue(existing, value(inc));
      else this.log.append(parent, importClean(parent, inc));
      return;
    }
    let target = existing;
    if (!target) {
      // a new interior node: its shell and (for a list entry) its keys first, then the children
      target = parent.ownerDocument!.importNode(inc, false) as Element;
      target.removeAttributeNS(NC_NS, 'operation');
      if (Array.isArray(keys)) for (const k of children(inc).filter((c) => keys.includes(c.localName ?? ''))) target.appendChild(importClean(target, k));
      this.log.append(parent, target);
    }
    for (const c of children(inc)) this.guard(() => this.edit(target, c, op, sn, false, here));
    // A node created only as the way to a delete/remove (or under default-operation none) that
    // ended up holding nothing but its keys was never asked for: take it away again.
    const nonKey = children(inc).filter((c) => !(Array.isArray(keys) && keys.includes(c.localName ?? '')));
    const onlyRemovals = nonKey.length > 0 && nonKey.every((c) => ['delete', 'remove'].includes(c.getAttributeNS(NC_NS, 'operation') ?? ''));
    if (!existing && (op === 'none' || onlyRemovals) && children(target).length <= (Array.isArray(keys) ? keys.length : 0)) this.log.remove(parent, target);
  }

  // Element names and values are checked as they arrive, as a device's parser would (RFC 7950 §8.3.1);
  // references and mandatory leaves are checked on the whole datastore by validate.ts.
  private check(inc: Element, sn: SchemaNode | undefined, parentSn: SchemaNode | undefined, top: boolean, here: string, deep: boolean): void {
    if (!this.o.checks) return;
    const known = moduleByNs.has(inc.namespaceURI ?? '') && (top || parentSn !== undefined);
    if (known && !sn) this.fail({ type: 'application', tag: 'unknown-element', path: here, message: `unknown element ${inc.localName}`, info: { 'bad-element': inc.localName ?? '' } });
    if (sn && (sn.kind === 'leaf' || sn.kind === 'leaf-list')) {
      const bad = typeError(sn.type, value(inc));
      if (bad) this.fail({ type: 'application', tag: 'invalid-value', appTag: bad.appTag, path: here, message: bad.message, info: { 'bad-element': inc.localName ?? '', 'bad-value': value(inc) } });
    }
    // a list entry's keys are copied with its shell, before the recursion would look at them
    const keys = sn?.kind === 'list' ? sn.key : [];
    for (const c of children(inc)) {
      if (!deep && !keys.includes(c.localName ?? '')) continue;
      const op = c.getAttributeNS(NC_NS, 'operation');
      if (op === 'delete' || op === 'remove') continue;
      const csn = schemaOf(c, sn, false);
      this.check(c, csn, sn, false, `${here}/${this.names.step(c, keysOf(c, csn))}`, true);
    }
  }
}
