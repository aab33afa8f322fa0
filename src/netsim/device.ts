// One simulated NETCONF device: running and candidate datastores in memory, locks, the confirmed
// commit of RFC 6241 §8.4, a commit that takes as long as the device is told to, and the faults
// injected through the control channel. Sessions (session.ts) call in; nothing here knows SSH.
import type { Element } from '@xmldom/xmldom';
import { ChangeLog } from './change-log.ts';
import { DeviceError, deviceError, type RpcErrorSpec } from './device-error.ts';
import { applyEdit, type DefaultOperation, type ErrorOption } from './edit-config.ts';
import { newDatastore } from './tree.ts';
import { validateChanges, validateStore } from './validate.ts';

export type Datastore = 'running' | 'candidate';
export type TestOption = 'test-then-set' | 'set' | 'test-only';

export interface DeviceSettings {
  commitDelayMs: number;
  /** Check configuration in known namespaces against their YANG rules (nvo3-lab). */
  checks: boolean;
}

export interface SessionHandle {
  id: number;
  username: string;
  openedAt: number;
  /** Ends the session from the device's side (kill-session, drop-session). */
  kill(): void;
}

export interface CommitRequest {
  confirmed?: boolean;
  confirmTimeoutS?: number;
  persist?: string;
  persistId?: string;
}

interface PendingConfirm {
  /** From the state to roll back to up to running: undone, they roll back. */
  changes: ChangeLog;
  /** That state passed the YANG checks. */
  checked: boolean;
  /** The session that must confirm; null once <persist> lets any session do it. */
  sessionId: number | null;
  persist?: string;
  timer: NodeJS.Timeout;
  deadline: number;
}

export const DEFAULT_REFUSAL: RpcErrorSpec = { type: 'application', tag: 'operation-failed', message: 'commit refused (netsim failure injection)' };

// One tree, the candidate (the newest state), and change logs back from it (change-log.ts):
// running is the candidate minus `uncommitted`, a confirmed commit's rollback point is running
// minus that commit's changes. An edit changes the tree in place and logs it; discard, unlock,
// a failed edit and a rollback undo logs; commit only moves the log. A sync so costs what it
// changes, not a copy of the configuration (a gateway's holds tens of thousands of entries).
export class Device {
  private readonly tree = newDatastore();
  /** Running → candidate: the edits since the last commit or discard. */
  private uncommitted = new ChangeLog();
  /** The session whose uncommitted changes are in the candidate (0 once that session is gone). */
  candidateDirtyBy: number | null = null;
  readonly locks: Record<Datastore, number | null> = { running: null, candidate: null };
  readonly sessions = new Map<number, SessionHandle>();
  confirmed: PendingConfirm | null = null;
  readonly faults = { refuseCommit: [] as RpcErrorSpec[], dropSession: 0, badChunk: 0 };
  readonly stats = { sessions: 0, rpcs: 0, commits: 0, rollbacks: 0, refused: 0, dropped: 0 };
  /** The state passed the YANG checks: unchanged since, it needs no second look (at commit, at the next edit). */
  private checked = { running: true, candidate: true };
  private nextSessionId = 1;
  private commitQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly settings: DeviceSettings,
  ) {}

  /** `fn` reads a datastore's tree (it must not change it, nor keep it past its return). */
  read<T>(ds: Datastore, fn: (store: Element) => T): T {
    if (ds === 'candidate' || this.uncommitted.empty) return fn(this.tree);
    this.uncommitted.undoAll();
    try {
      return fn(this.tree);
    } finally {
      this.uncommitted.redoAll();
    }
  }

  openSession(make: (id: number) => SessionHandle): SessionHandle {
    const h = make(this.nextSessionId++);
    this.sessions.set(h.id, h);
    this.stats.sessions++;
    return h;
  }

  /** RFC 6241 §7.5: locks go with the session; §8.3.5.2: so do changes under a candidate lock; §8.4.1: so does an unconfirmed commit. */
  sessionClosed(id: number): void {
    if (!this.sessions.delete(id)) return;
    if (this.locks.candidate === id) this.discard();
    for (const ds of ['running', 'candidate'] as const) if (this.locks[ds] === id) this.locks[ds] = null;
    if (this.candidateDirtyBy === id) this.candidateDirtyBy = 0;
    if (this.confirmed && this.confirmed.sessionId === id) void this.serialized(async () => this.rollback());
  }

  lock(ds: Datastore, sid: number): void {
    const holder = this.locks[ds];
    if (holder !== null && holder !== undefined)
      throw deviceError({ type: 'protocol', tag: 'lock-denied', message: `the ${ds} datastore is locked by session ${holder}`, info: { 'session-id': holder } });
    // RFC 6241 §8.3.5.1: no lock on a candidate holding someone's uncommitted changes
    if (ds === 'candidate' && this.candidateDirtyBy !== null && this.candidateDirtyBy !== sid)
      throw deviceError({ type: 'protocol', tag: 'lock-denied', message: `the candidate holds uncommitted changes of session ${this.candidateDirtyBy}`, info: { 'session-id': this.sessions.has(this.candidateDirtyBy) ? this.candidateDirtyBy : 0 } });
    this.locks[ds] = sid;
  }

  unlock(ds: Datastore, sid: number): void {
    if (this.locks[ds] !== sid)
      throw deviceError({ type: 'protocol', tag: 'operation-failed', message: this.locks[ds] === null ? `the ${ds} datastore is not locked` : `the ${ds} lock belongs to session ${this.locks[ds]}`, info: { 'session-id': this.locks[ds] ?? 0 } });
    if (ds === 'candidate') this.discard();
    this.locks[ds] = null;
  }

  private writable(ds: Datastore, sid: number): void {
    const holder = this.locks[ds];
    if (holder !== null && holder !== sid)
      throw deviceError({ type: 'protocol', tag: 'in-use', message: `the ${ds} datastore is locked by session ${holder}`, info: { 'session-id': holder } });
  }

  editConfig(sid: number, config: Element, o: { defaultOperation: DefaultOperation; testOption: TestOption; errorOption: ErrorOption }): void {
    this.writable('candidate', sid);
    const log = new ChangeLog();
    const undo = (err: unknown): never => {
      log.undoAll();
      throw err;
    };
    let errors: RpcErrorSpec[] = [];
    try {
      errors = applyEdit(this.tree, config, { defaultOperation: o.defaultOperation, errorOption: o.errorOption, checks: this.settings.checks }, log);
    } catch (err) {
      undo(err);
    }
    // RFC 6241 §7.2: test-then-set (the default with :validate) sets nothing when any check
    // fails; only test-option "set" leaves the part before a stop-on-error in place.
    if (errors.length && (o.errorOption === 'rollback-on-error' || o.testOption !== 'set')) undo(new DeviceError(...errors));
    let checked = false;
    if (o.testOption !== 'set' && this.settings.checks) {
      const invalid = this.checked.candidate ? validateChanges(this.tree, log) : validateStore(this.tree);
      if (invalid.length) undo(new DeviceError(...invalid));
      checked = true;
    }
    if (o.testOption === 'test-only') log.undoAll();
    else {
      this.uncommitted.concat(log);
      this.checked.candidate = checked;
      this.candidateDirtyBy = sid;
    }
    if (errors.length) throw new DeviceError(...errors);
  }

  discardChanges(sid: number): void {
    this.writable('candidate', sid);
    this.discard();
  }

  private discard(): void {
    this.uncommitted.undoAll();
    this.uncommitted = new ChangeLog();
    this.checked.candidate = this.checked.running;
    this.candidateDirtyBy = null;
  }

  /** A datastore, or a configuration given inline (a tree of its own). */
  validate(source: Datastore | Element): void {
    if (!this.settings.checks) return;
    if (typeof source !== 'string') {
      const errors = validateStore(source);
      if (errors.length) throw new DeviceError(...errors);
      return;
    }
    if (this.checked[source]) return;
    const errors = this.read(source, validateStore);
    if (errors.length) throw new DeviceError(...errors);
    this.checked[source] = true;
    if (this.uncommitted.empty) this.checked = { running: true, candidate: true };
  }

  /** RFC 6241 §8.3.4.1 commit and §8.4.5.1 its confirmed forms; one commit at a time per device. */
  commit(sid: number, r: CommitRequest): Promise<void> {
    return this.serialized(async () => {
      this.writable('running', sid);
      this.writable('candidate', sid);
      this.checkConfirmer(sid, r.persistId);
      if (this.settings.commitDelayMs > 0) await new Promise((res) => setTimeout(res, this.settings.commitDelayMs));
      const refusal = this.faults.refuseCommit.shift();
      if (refusal) {
        this.stats.refused++;
        throw new DeviceError(refusal);
      }
      this.validate('candidate');
      const pending = this.confirmed;
      if (pending) clearTimeout(pending.timer);
      if (r.confirmed) {
        const timeoutS = r.confirmTimeoutS ?? 600; // RFC 6241 §8.4.5.1 default
        if (pending) pending.changes.concat(this.uncommitted);
        this.confirmed = {
          changes: pending ? pending.changes : this.uncommitted,
          checked: pending ? pending.checked : this.checked.running,
          sessionId: r.persist !== undefined ? null : sid,
          persist: r.persist,
          deadline: Date.now() + timeoutS * 1000,
          timer: setTimeout(() => void this.serialized(async () => this.rollback()), timeoutS * 1000),
        };
        this.confirmed.timer.unref();
      } else this.confirmed = null;
      this.uncommitted = new ChangeLog();
      this.checked.running = this.checked.candidate;
      this.candidateDirtyBy = null;
      this.stats.commits++;
    });
  }

  cancelCommit(sid: number, persistId: string | undefined): Promise<void> {
    return this.serialized(async () => {
      if (!this.confirmed) throw deviceError({ type: 'protocol', tag: 'operation-failed', message: 'no confirmed commit is pending' });
      this.checkConfirmer(sid, persistId);
      this.rollback();
    });
  }

  // RFC 6241 §8.4.1: without <persist>, only the session that made the confirmed commit may
  // follow it up; with it, any session that names the same <persist-id>.
  private checkConfirmer(sid: number, persistId: string | undefined): void {
    const p = this.confirmed;
    if (!p) {
      if (persistId !== undefined) throw deviceError({ type: 'protocol', tag: 'invalid-value', message: `no confirmed commit with persist-id '${persistId}' is pending`, info: { 'bad-element': 'persist-id' } });
      return;
    }
    if (p.persist !== undefined) {
      if (persistId !== p.persist) throw deviceError({ type: 'protocol', tag: 'invalid-value', message: persistId === undefined ? 'a persistent confirmed commit is pending: give its persist-id' : `persist-id '${persistId}' does not match the pending confirmed commit`, info: { 'bad-element': 'persist-id' } });
    } else if (p.sessionId !== sid) {
      throw deviceError({ type: 'protocol', tag: 'in-use', message: `a confirmed commit of session ${p.sessionId} is pending; only that session can confirm or cancel it`, info: { 'session-id': p.sessionId ?? 0 } });
    }
  }

  private rollback(): void {
    const p = this.confirmed;
    if (!p) return;
    clearTimeout(p.timer);
    this.confirmed = null;
    this.uncommitted.undoAll();
    p.changes.undoAll();
    this.uncommitted = new ChangeLog();
    this.checked = { running: p.checked, candidate: p.checked };
    this.candidateDirtyBy = null;
    this.stats.rollbacks++;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.commitQueue.then(fn, fn);
    this.commitQueue = run.catch(() => undefined);
    return run;
  }

  /** The control channel's drop-session fault: true when this RPC's session must go now. */
  takeDrop(): boolean {
    if (this.faults.dropSession <= 0) return false;
    this.faults.dropSession--;
    this.stats.dropped++;
    return true;
  }

  takeBadChunk(): boolean {
    if (this.faults.badChunk <= 0) return false;
    this.faults.badChunk--;
    return true;
  }

  stop(): void {
    if (this.confirmed) clearTimeout(this.confirmed.timer);
    for (const s of [...this.sessions.values()]) s.kill();
  }
}
