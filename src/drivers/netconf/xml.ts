// Small helpers over @xmldom/xmldom for reading replies: namespace-agnostic child lookup (devices
// differ in prefixes, never in local names) and strict parsing.
import { DOMParser, type Element, type Node } from '@xmldom/xmldom';

export const NC_NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';

export function parseXml(text: string): Element {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level, msg) => {
      if (level !== 'warning') errors.push(msg);
    },
  }).parseFromString(text, 'text/xml');
  if (errors.length || !doc.documentElement) throw new Error(`not well-formed XML: ${errors[0] ?? 'no root element'}`);
  return doc.documentElement;
}

export function children(el: Element, local?: string): Element[] {
  const out: Element[] = [];
  for (let n: Node | null = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (!local || (n as Element).localName === local)) out.push(n as Element);
  }
  return out;
}

export function child(el: Element, local: string): Element | undefined {
  return children(el, local)[0];
}

export function text(el: Element | undefined): string | undefined {
  return el?.textContent?.trim();
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}
