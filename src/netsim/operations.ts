// The RPCs a simulated device answers (RFC 6241 §7, §8.3–8.6), one small function each, reading
// their parameters from the <rpc>'s operation element and calling the device. Anything else is
// operation-not-supported (Appendix A).
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { NC_NS, child, children, text } from '../drivers/netconf/xml.ts';
import { deviceError } from './device-error.ts';
import type { Datastore, Device, TestOption } from './device.ts';
import type { DefaultOperation, ErrorOption } from './edit-config.ts';
import { selectChildren } from './subtree-filter.ts';
import { newDatastore } from './tree.ts';

export interface RpcContext {
  device: Device;
  sessionId: number;
  /** Ends this session once its reply is sent (close-session). */
  closeAfterReply(): void;
}

type Handler = (op: Element, c: RpcContext) => string | void | Promise<string | void>;

const bad = (element: string, message: string) => deviceError({ type: 'protocol', tag: 'invalid-value', message, info: { 'bad-element': element } });
const missing = (element: string, in_: string) => deviceError({ type: 'protocol', tag: 'missing-element', message: `<${in_}> needs <${element}>`, info: { 'bad-element': element } });

function datastore(op: Element, wrapper: 'target' | 'source', allowed: Datastore[]): Datastore {
  const w = child(op, wrapper);
  if (!w) throw missing(wrapper, op.localName ?? '');
  const name = children(w)[0]?.localName ?? '';
  if (!(allowed as string[]).includes(name)) {
    if (name === 'running' && wrapper === 'target') throw deviceError({ type: 'protocol', tag: 'operation-not-supported', message: 'running is not writable (:writable-running is not announced): edit the candidate and commit' });
    throw bad(wrapper, `${wrapper} '${name}' is not one of ${allowed.join(', ')}`);
  }
  return name as Datastore;
}

function oneOf<T extends string>(op: Element, name: string, allowed: readonly T[], dflt: T): T {
  const v = text(child(op, name));
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw bad(name, `${name} '${v}' is not one of ${allowed.join(', ')}`);
  return v as T;
}

function data(store: Element, op: Element): string {
  const filter = child(op, 'filter');
  if (filter && (filter.getAttribute('type') || 'subtree') !== 'subtree')
    throw deviceError({ type: 'protocol', tag: 'invalid-value', message: `filter type '${filter.getAttribute('type')}' is not supported (only subtree; :xpath is not announced)`, info: { 'bad-attribute': 'type', 'bad-element': 'filter' } });
  const nodes = filter ? selectChildren(store, children(filter)) : children(store);
  // Serialized where they are, not copied first (a copy of a gateway's whole configuration per
  // read-back was a third of netsim's time): the serializer declares every namespace a node uses.
  if (!nodes.length) return `<data xmlns="${NC_NS}"/>`;
  const ser = new XMLSerializer();
  return `<data xmlns="${NC_NS}">${nodes.map((n) => ser.serializeToString(n)).join('')}</data>`;
}

function sessionIdOf(op: Element, name: string): number {
  const v = text(child(op, name));
  if (v === undefined) throw missing(name, op.localName ?? '');
  if (!/^\d+$/.test(v)) throw bad(name, `${name} '${v}' is not a session id`);
  return Number(v);
}

const handlers: Record<string, Handler> = {
  get: (op, c) => c.device.read('running', (store) => data(store, op)),
  'get-config': (op, c) => {
    const source = datastore(op, 'source', ['running', 'candidate']);
    return c.device.read(source, (store) => data(store, op));
  },
  'edit-config': (op, c) => {
    datastore(op, 'target', ['candidate']);
    if (child(op, 'url')) throw deviceError({ type: 'protocol', tag: 'operation-not-supported', message: '<url> needs :url, which is not announced' });
    const config = child(op, 'config');
    if (!config) throw missing('config', 'edit-config');
    c.device.editConfig(c.sessionId, config, {
      defaultOperation: oneOf<DefaultOperation>(op, 'default-operation', ['merge', 'replace', 'none'], 'merge'),
      testOption: oneOf<TestOption>(op, 'test-option', ['test-then-set', 'set', 'test-only'], 'test-then-set'),
      errorOption: oneOf<ErrorOption>(op, 'error-option', ['stop-on-error', 'continue-on-error', 'rollback-on-error'], 'stop-on-error'),
    });
  },
  lock: (op, c) => c.device.lock(datastore(op, 'target', ['running', 'candidate']), c.sessionId),
  unlock: (op, c) => c.device.unlock(datastore(op, 'target', ['running', 'candidate']), c.sessionId),
  'discard-changes': (_op, c) => c.device.discardChanges(c.sessionId),
  validate: (op, c) => {
    const src = child(op, 'source');
    const inline = src && child(src, 'config');
    if (inline) {
      const store = newDatastore();
      for (const n of children(inline)) store.appendChild(store.ownerDocument!.importNode(n, true));
      return c.device.validate(store);
    }
    c.device.validate(datastore(op, 'source', ['running', 'candidate']));
  },
  commit: async (op, c) => {
    const timeout = text(child(op, 'confirm-timeout'));
    if (timeout !== undefined && !/^[1-9]\d{0,9}$/.test(timeout)) throw bad('confirm-timeout', `confirm-timeout '${timeout}' is not a positive number of seconds`);
    await c.device.commit(c.sessionId, {
      confirmed: child(op, 'confirmed') !== undefined,
      confirmTimeoutS: timeout === undefined ? undefined : Number(timeout),
      persist: text(child(op, 'persist')),
      persistId: text(child(op, 'persist-id')),
    });
  },
  'cancel-commit': (op, c) => c.device.cancelCommit(c.sessionId, text(child(op, 'persist-id'))),
  'close-session': (_op, c) => c.closeAfterReply(),
  'kill-session': (op, c) => {
    const id = sessionIdOf(op, 'session-id');
    // RFC 6241 §7.9: killing one's own session is invalid-value
    if (id === c.sessionId) throw bad('session-id', 'kill-session of the current session: use close-session');
    const victim = c.device.sessions.get(id);
    if (!victim) throw bad('session-id', `no session ${id}`);
    victim.kill();
  },
};

export async function runOperation(op: Element, c: RpcContext): Promise<string> {
  const h = op.namespaceURI === NC_NS ? handlers[op.localName ?? ''] : undefined;
  if (!h) throw deviceError({ type: 'protocol', tag: 'operation-not-supported', message: `operation ${op.localName} is not supported`, info: { 'bad-element': op.localName ?? '' } });
  return (await h(op, c)) ?? '<ok/>';
}
