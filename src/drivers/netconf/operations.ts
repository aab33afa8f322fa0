// RFC 6241 §7 operations, one function each, over a NetconfSession. Bodies are built here with
// every value escaped; `config` and `filter` arguments are already-rendered XML.
import type { Element } from '@xmldom/xmldom';
import * as caps from './capabilities.ts';
import { NetconfError } from './netconf-error.ts';
import { RpcError } from './rpc-error.ts';
import type { NetconfSession, RpcReply } from './rpc.ts';
import { child, escapeXml } from './xml.ts';

export type Datastore = 'running' | 'candidate' | 'startup';

const subtree = (filter?: string) => (filter ? `<filter type="subtree">${filter}</filter>` : '');

function data(r: RpcReply): Element {
  const d = child(r.reply, 'data');
  if (!d) throw new NetconfError('protocol', 'reply without <data>');
  return d;
}

export async function get(s: NetconfSession, filter?: string, timeoutMs?: number): Promise<Element> {
  return data(await s.rpc(`<get>${subtree(filter)}</get>`, { timeoutMs }));
}

export async function getConfig(s: NetconfSession, source: Datastore, filter?: string, timeoutMs?: number): Promise<Element> {
  if (source === 'candidate') caps.requireCapability(s, caps.hasCandidate(s), ':candidate', 'get-config');
  return data(await s.rpc(`<get-config><source><${source}/></source>${subtree(filter)}</get-config>`, { timeoutMs }));
}

export interface EditConfigOptions {
  target: 'running' | 'candidate';
  /** The content of <config>, with its own namespaces and nc:operation attributes. */
  config: string;
  defaultOperation?: 'merge' | 'replace' | 'none';
  testOption?: 'test-then-set' | 'set' | 'test-only';
  errorOption?: 'stop-on-error' | 'continue-on-error' | 'rollback-on-error';
}

export async function editConfig(s: NetconfSession, o: EditConfigOptions): Promise<RpcReply> {
  if (o.target === 'candidate') caps.requireCapability(s, caps.hasCandidate(s), ':candidate', 'edit-config');
  else caps.requireCapability(s, caps.hasWritableRunning(s), ':writable-running', 'edit-config');
  // RFC 6241 §8.6: test-option needs :validate, and its test-only value arrived with :validate:1.1.
  if (o.testOption === 'test-only') caps.requireCapability(s, s.has(caps.VALIDATE_11), ':validate:1.1', 'edit-config test-option test-only');
  else if (o.testOption) caps.requireCapability(s, caps.hasValidate(s), ':validate', 'edit-config test-option');
  if (o.errorOption === 'rollback-on-error') caps.requireCapability(s, caps.hasRollbackOnError(s), ':rollback-on-error', 'edit-config');
  const body =
    `<edit-config><target><${o.target}/></target>` +
    (o.defaultOperation ? `<default-operation>${o.defaultOperation}</default-operation>` : '') +
    (o.testOption ? `<test-option>${o.testOption}</test-option>` : '') +
    (o.errorOption ? `<error-option>${o.errorOption}</error-option>` : '') +
    `<config xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">${o.config}</config></edit-config>`;
  return s.rpc(body);
}

export interface LockOptions {
  /** Attempts after the first one when another session holds the lock. */
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** RFC 6241 §7.5. On lock-denied, retries with exponential backoff; gives up naming the holder. */
export async function lock(s: NetconfSession, target: Datastore, o: LockOptions = {}): Promise<void> {
  const retries = o.retries ?? 5;
  let wait = o.backoffMs ?? 100;
  for (let attempt = 0; ; attempt++) {
    try {
      await s.rpc(`<lock><target><${target}/></target></lock>`);
      return;
    } catch (err) {
      if (!(err instanceof RpcError) || err.tag !== 'lock-denied') throw err;
      if (attempt >= retries) {
        const holder = err.errors[0]?.info['session-id'];
        throw new NetconfError(
          'lock-denied',
          `${s.where}: the ${target} datastore is locked by session ${holder ?? '(unknown)'}; gave up after ${attempt + 1} attempts (device: ${err.deviceMessage ?? 'lock denied'})`,
          { holderSessionId: holder === undefined ? undefined : Number(holder), attempts: attempt + 1, errors: err.errors },
        );
      }
      await new Promise((r) => setTimeout(r, wait * (0.75 + Math.random() / 2)));
      wait = Math.min(wait * 2, o.maxBackoffMs ?? 2_000);
    }
  }
}

export async function unlock(s: NetconfSession, target: Datastore): Promise<void> {
  await s.rpc(`<unlock><target><${target}/></target></unlock>`);
}

export async function discardChanges(s: NetconfSession): Promise<void> {
  caps.requireCapability(s, caps.hasCandidate(s), ':candidate', 'discard-changes');
  await s.rpc('<discard-changes/>');
}

export async function validate(s: NetconfSession, source: Datastore = 'candidate'): Promise<void> {
  caps.requireCapability(s, caps.hasValidate(s), ':validate', 'validate');
  await s.rpc(`<validate><source><${source}/></source></validate>`);
}

export interface CommitOptions {
  /** RFC 6241 §8.4: roll back unless confirmed within confirmTimeoutS seconds. */
  confirmed?: boolean;
  confirmTimeoutS?: number;
  /** Token that lets another session confirm or cancel; the commit then outlives this session. */
  persist?: string;
  /** Confirms (or extends) a persisted confirmed commit. */
  persistId?: string;
}

export async function commit(s: NetconfSession, o: CommitOptions = {}): Promise<void> {
  caps.requireCapability(s, caps.hasCandidate(s), ':candidate', 'commit');
  if (o.confirmed) caps.requireCapability(s, caps.hasConfirmedCommit(s), ':confirmed-commit', 'commit');
  if (o.persist !== undefined || o.persistId !== undefined) caps.requireCapability(s, caps.hasPersist(s), ':confirmed-commit:1.1', 'commit persist');
  const body =
    '<commit>' +
    (o.confirmed ? '<confirmed/>' : '') +
    (o.confirmed && o.confirmTimeoutS !== undefined ? `<confirm-timeout>${Math.max(1, Math.floor(o.confirmTimeoutS))}</confirm-timeout>` : '') +
    (o.persist !== undefined ? `<persist>${escapeXml(o.persist)}</persist>` : '') +
    (o.persistId !== undefined ? `<persist-id>${escapeXml(o.persistId)}</persist-id>` : '') +
    '</commit>';
  await s.rpc(body);
}

export async function cancelCommit(s: NetconfSession, persistId?: string): Promise<void> {
  caps.requireCapability(s, caps.hasConfirmedCommit(s), ':confirmed-commit', 'cancel-commit');
  await s.rpc(`<cancel-commit>${persistId !== undefined ? `<persist-id>${escapeXml(persistId)}</persist-id>` : ''}</cancel-commit>`);
}

/** RFC 6241 §7.8: polite close; the session is ended whatever the answer. */
export async function closeSession(s: NetconfSession, timeoutMs = 5_000): Promise<void> {
  if (!s.isOpen) return;
  try {
    await s.rpc('<close-session/>', { timeoutMs });
  } catch {
    // the server may drop the channel before or after <ok/>: closed either way
  } finally {
    s.end();
  }
}

export async function killSession(s: NetconfSession, sessionId: number): Promise<void> {
  await s.rpc(`<kill-session><session-id>${Math.floor(sessionId)}</session-id></kill-session>`);
}
