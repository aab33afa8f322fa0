// Whole-datastore checks against the known YANG modules (RFC 6241 §8.6 validate, and before every
// commit): values, mandatory leaves (RFC 7950 §7.6.5) and leafref targets (RFC 7950 §9.9, reported
// as data-missing / instance-required per §15.5).
import type { Element } from '@xmldom/xmldom';
import { children } from '../drivers/netconf/xml.ts';
import type { RpcErrorSpec } from './device-error.ts';
import { typeError, type SchemaNode } from './schema.ts';
import { PathNames, keysOf, moduleByNs, value } from './tree.ts';

export function validateStore(store: Element): RpcErrorSpec[] {
  const errors: RpcErrorSpec[] = [];
  const names = new PathNames();
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
  const fail = (spec: Omit<RpcErrorSpec, 'pathNs'>) => errors.push({ ...spec, pathNs: names.ns });

  const walk = (el: Element, sn: SchemaNode | undefined, path: string) => {
    const here = `${path}/${names.step(el, keysOf(el, sn))}`;
    if (!sn) return fail({ type: 'application', tag: 'unknown-element', path: here, message: `unknown element ${el.localName}`, info: { 'bad-element': el.localName ?? '' } });
    if (sn.kind === 'leaf' || sn.kind === 'leaf-list') {
      const bad = typeError(sn.type, value(el));
      if (bad) return fail({ type: 'application', tag: 'invalid-value', appTag: bad.appTag, path: here, message: bad.message, info: { 'bad-element': el.localName ?? '', 'bad-value': value(el) } });
      if (sn.kind === 'leaf' && sn.leafref && !targets(el.namespaceURI ?? '', sn.leafref).has(value(el)))
        fail({ type: 'application', tag: 'data-missing', appTag: 'instance-required', path: here, message: `${el.localName} ${value(el)} refers to /${sn.leafref.join('/')} '${value(el)}', which does not exist`, info: { 'bad-element': el.localName ?? '', 'bad-value': value(el) } });
      return;
    }
    for (const [name, c] of Object.entries(sn.children)) {
      if (c.kind === 'leaf' && c.mandatory && !children(el, name).length)
        fail({ type: 'application', tag: 'missing-element', path: here, message: `mandatory ${name} is missing`, info: { 'bad-element': name } });
    }
    for (const c of children(el)) walk(c, c.namespaceURI === el.namespaceURI ? sn.children[c.localName ?? ''] : undefined, here);
  };

  for (const top of children(store)) {
    const m = moduleByNs.get(top.namespaceURI ?? '');
    if (m) walk(top, m.top[top.localName ?? ''], '');
  }
  return errors;
}
