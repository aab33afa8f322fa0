// Every change to a device's datastore tree, recorded so it can be undone and done again in order.
// A device keeps ONE tree, the newest state (the candidate); running and a confirmed commit's
// rollback point are that tree minus the logs of the changes made since (device.ts). So an edit
// costs what it changes, not a copy of the whole configuration, and reading an older state is
// undo → read → redo. Changes also keep the sibling index (sibling-index.ts) up to date.
import type { Element, Node } from '@xmldom/xmldom';
import { inserted, leafValue, removed, replaced, textChanged } from './sibling-index.ts';

export type Change =
  | { kind: 'insert'; parent: Element; node: Element; before: Node | null }
  | { kind: 'remove'; parent: Element; node: Element; before: Node | null }
  | { kind: 'replace'; parent: Element; node: Element; old: Element }
  | { kind: 'text'; leaf: Element; was: Node[]; now: Node[]; oldValue: string };

function insertAt(parent: Element, node: Node, before: Node | null): void {
  parent.insertBefore(node, before);
  inserted(parent, node, before);
}

function removeFrom(parent: Element, node: Node): void {
  parent.removeChild(node);
  removed(parent, node);
}

function setChildren(leaf: Element, from: Node[], to: Node[]): void {
  for (const n of from) leaf.removeChild(n);
  for (const n of to) leaf.appendChild(n);
  textChanged(leaf);
}

function redo(c: Change): void {
  switch (c.kind) {
    case 'insert':
      return insertAt(c.parent, c.node, c.before);
    case 'remove':
      return removeFrom(c.parent, c.node);
    case 'replace':
      c.parent.replaceChild(c.node, c.old);
      return replaced(c.parent, c.node, c.old);
    case 'text':
      return setChildren(c.leaf, c.was, c.now);
  }
}

function undo(c: Change): void {
  switch (c.kind) {
    case 'insert':
      return removeFrom(c.parent, c.node);
    case 'remove':
      return insertAt(c.parent, c.node, c.before);
    case 'replace':
      c.parent.replaceChild(c.old, c.node);
      return replaced(c.parent, c.old, c.node);
    case 'text':
      return setChildren(c.leaf, c.now, c.was);
  }
}

/** Changes made to one tree, in order; undone in reverse. */
export class ChangeLog {
  readonly changes: Change[] = [];

  append(parent: Element, node: Element): void {
    this.apply({ kind: 'insert', parent, node, before: null });
  }

  remove(parent: Element, node: Element): void {
    this.apply({ kind: 'remove', parent, node, before: node.nextSibling });
  }

  replace(parent: Element, node: Element, old: Element): void {
    this.apply({ kind: 'replace', parent, node, old });
  }

  /** A leaf's value; nothing is recorded when it already holds it (as every merge of a key does). */
  setValue(leaf: Element, v: string): void {
    const f = leaf.firstChild;
    if (f ? f.nodeType === 3 && !f.nextSibling && f.nodeValue === v : v === '') return;
    const was: Node[] = [];
    for (let n: Node | null = leaf.firstChild; n; n = n.nextSibling) was.push(n);
    this.apply({ kind: 'text', leaf, was, now: v ? [leaf.ownerDocument!.createTextNode(v)] : [], oldValue: leafValue(leaf) });
  }

  private apply(c: Change): void {
    redo(c);
    this.changes.push(c);
  }

  /** Adds `later`'s changes after this log's. */
  concat(later: ChangeLog): void {
    for (const c of later.changes) this.changes.push(c);
  }

  get empty(): boolean {
    return this.changes.length === 0;
  }

  undoAll(): void {
    for (let i = this.changes.length - 1; i >= 0; i--) undo(this.changes[i]!);
  }

  redoAll(): void {
    for (const c of this.changes) redo(c);
  }
}
