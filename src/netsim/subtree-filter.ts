// RFC 6241 §6 subtree filtering: content-match nodes (leaves with a value) must all match for a
// sibling set to be selected; selection nodes (empty leaves) pick that node; containment nodes
// recurse. A filter with only content-match nodes selects the whole sibling set (§6.4.5).
import type { Element } from '@xmldom/xmldom';
import { children } from '../drivers/netconf/xml.ts';
import { lookupIndexed } from './sibling-index.ts';
import { deepCopy, isLeaf, value } from './tree.ts';

// A filter element without a namespace matches any namespace.
const sameName = (d: Element, f: Element) => d.localName === f.localName && (!f.namespaceURI || f.namespaceURI === d.namespaceURI);

/**
 * The nodes of `data`'s children that `filter` selects; none for an empty filter. A node selected
 * whole is the datastore's own (read it, serialise it, never change it); only partly selected ones
 * are new trees, which copy what they hold — a whole-<nvo/> read so costs no copy of the configuration.
 */
export function selectChildren(data: Element, filter: Element[]): Element[] {
  return select(data, filter) ?? [];
}

function select(data: Element, filter: Element[]): Element[] | null {
  const contentMatch = filter.filter((f) => isLeaf(f) && value(f) !== '');
  const dataChildren = children(data);
  for (const cm of contentMatch) if (!dataChildren.some((d) => sameName(d, cm) && value(d) === value(cm))) return null;
  const all = filter.filter((f) => !contentMatch.includes(f));
  if (all.length === 0) return contentMatch.length ? dataChildren : [];
  const byKey = keySelectors(all);
  const others = all.filter((f) => !byKey.filters.has(f));
  if (!contentMatch.length && !others.length) {
    const found = byKey.lookUp(data);
    if (found) return found;
  }
  const out: Element[] = [];
  for (const d of dataChildren) {
    if (contentMatch.some((cm) => sameName(d, cm)) || byKey.selects(d)) {
      out.push(d);
      continue;
    }
    const matching = others.filter((f) => sameName(d, f));
    if (!matching.length) continue;
    if (matching.some((f) => isLeaf(f))) {
      out.push(d);
      continue;
    }
    // several containment nodes for one data node (e.g. two list entries asked for): union
    const picked = new Set<Element>();
    let any = false;
    for (const f of matching) {
      const sub = select(d, children(f));
      if (sub === null) continue;
      any = true;
      for (const s of sub) picked.add(s);
    }
    if (!any || (picked.size === 0 && !isLeaf(d))) continue;
    const shell = d.cloneNode(false) as Element;
    // a datastore node is attached to its parent there: a copy goes into the shell
    for (const s of matching.length > 1 ? dedupe([...picked]) : picked) shell.appendChild(s.parentNode ? deepCopy(s) : s);
    out.push(shell);
  }
  return out;
}

// Containment nodes that hold only content-match leaves select whole list entries by key — nvo's
// read-back asks for hundreds at once (`<mac><vni>…</vni><address>…</address></mac>`…). Matching
// each data node against each of them is quadratic; instead they are indexed by name, leaf names and
// values, and each data node is looked up once per (name, leaf names) group. Same result as the
// general path (§6.2.5: all content-match nodes equal → the whole entry), without a namespace-less
// filter element (it matches any namespace), which stays on the general path.
// When they are all there is at a level, the sibling index finds the entries without a pass over
// the data (a gateway's list has tens of thousands); the answer keeps document order.
function keySelectors(filters: Element[]): { filters: Set<Element>; selects: (d: Element) => boolean; lookUp: (data: Element) => Element[] | null } {
  const groups = new Map<string, { name: string; ns: string; leaves: string[]; values: Set<string> }>();
  const picked = new Set<Element>();
  for (const f of filters) {
    const kids = children(f);
    if (isLeaf(f) || !f.namespaceURI || kids.length === 0) continue;
    if (!kids.every((k) => isLeaf(k) && value(k) !== '' && k.namespaceURI === f.namespaceURI)) continue;
    const leaves = kids.map((k) => k.localName!);
    if (new Set(leaves).size !== leaves.length) continue;
    const sig = `${f.namespaceURI} ${f.localName} ${leaves.join(' ')}`;
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { name: f.localName!, ns: f.namespaceURI, leaves, values: new Set() }));
    g.values.add(JSON.stringify(kids.map((k) => value(k))));
    picked.add(f);
  }
  const list = [...groups.values()];
  const inGroup = (g: (typeof list)[number], d: Element) => {
    if (d.localName !== g.name || d.namespaceURI !== g.ns) return false;
    const kids = children(d);
    const vals = g.leaves.map((l) => kids.find((k) => k.localName === l && k.namespaceURI === g.ns));
    return vals.every((v) => v && isLeaf(v)) && g.values.has(JSON.stringify(vals.map((v) => value(v!))));
  };
  return {
    filters: picked,
    selects: (d) => list.some((g) => inGroup(g, d)),
    lookUp: (data) => {
      const found: { el: Element; order: number }[] = [];
      for (const g of list) {
        const hits = lookupIndexed(data, g.ns, g.name, g.leaves, [...g.values].map((v) => JSON.parse(v) as string[]));
        if (!hits) return null;
        // the index finds by the leaves' values; the filter also wants them to be leaves
        found.push(...hits.filter((h) => inGroup(g, h.el)));
      }
      return found.sort((a, b) => a.order - b.order).map((h) => h.el);
    },
  };
}

// Two containment nodes can select the same child twice; keep the first copy of each.
function dedupe(nodes: Element[]): Element[] {
  const seen = new Set<string>();
  return nodes.filter((n) => {
    const k = n.toString();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
