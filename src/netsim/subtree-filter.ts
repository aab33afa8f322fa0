// RFC 6241 §6 subtree filtering: content-match nodes (leaves with a value) must all match for a
// sibling set to be selected; selection nodes (empty leaves) pick that node; containment nodes
// recurse. A filter with only content-match nodes selects the whole sibling set (§6.4.5).
import type { Element } from '@xmldom/xmldom';
import { children } from '../drivers/netconf/xml.ts';
import { deepCopy, isLeaf, value } from './tree.ts';

// A filter element without a namespace matches any namespace.
const sameName = (d: Element, f: Element) => d.localName === f.localName && (!f.namespaceURI || f.namespaceURI === d.namespaceURI);

/** The nodes of `data`'s children that `filter` selects, as copies; none for an empty filter. */
export function selectChildren(data: Element, filter: Element[]): Element[] {
  return select(data, filter) ?? [];
}

function select(data: Element, filter: Element[]): Element[] | null {
  const contentMatch = filter.filter((f) => isLeaf(f) && value(f) !== '');
  const dataChildren = children(data);
  for (const cm of contentMatch) if (!dataChildren.some((d) => sameName(d, cm) && value(d) === value(cm))) return null;
  const others = filter.filter((f) => !contentMatch.includes(f));
  if (others.length === 0) return contentMatch.length ? dataChildren.map((d) => deepCopy(d)) : [];
  const out: Element[] = [];
  for (const d of dataChildren) {
    if (contentMatch.some((cm) => sameName(d, cm))) {
      out.push(deepCopy(d));
      continue;
    }
    const matching = others.filter((f) => sameName(d, f));
    if (!matching.length) continue;
    if (matching.some((f) => isLeaf(f))) {
      out.push(deepCopy(d));
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
    for (const s of dedupe([...picked])) shell.appendChild(s);
    out.push(shell);
  }
  return out;
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
