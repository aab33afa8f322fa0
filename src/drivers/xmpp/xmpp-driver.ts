// The XMPP driver: the controller's side of docs/xmpp.md. One client session of a real XMPP server;
// the sync pipeline calls apply() once per coalesced job and records the applied revision itself.
//
// Nothing waits in memory: a push to an agent that is offline fails at once as transient (the job is
// retried), and an agent that (re)connects announces the revision it has; when that is behind the
// desired state in Redis, the driver sends the full desired state and records it applied. So pushes
// "wait" in the desired state, never in this process.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { Device } from '../../model/device.ts';
import type { DeviceChange, DeviceConfig } from '../../model/device-config.ts';
import type { DeviceStateStore } from '../../store/device-state.ts';
import { createXmppClient, fullJid, jidMatches, splitJid, type XmppLogin } from './connect.ts';
import { AGENT_RESOURCE, CONTROLLER_RESOURCE, NS_PUSH, errorElement, readEntries, revisionAttr } from './protocol.ts';
import { PushRenderer } from './render.ts';
import { XmppError } from './xmpp-error.ts';

export type XmppDevice = Pick<Device, 'id' | 'jid'>;

export interface XmppDriverOptions extends XmppLogin {
  store: DeviceStateStore;
  /** The inventory's xmpp device whose agent has this bare JID, for announcements. */
  deviceByJid: (bareJid: string) => XmppDevice | undefined | Promise<XmppDevice | undefined>;
  /** How long a push waits for its answer before it counts as a transient timeout. */
  timeoutMs?: number;
  renderer?: PushRenderer;
}

export interface PushInput {
  /** The applied revision the change was computed from (what the agent must have). */
  base: number;
  /** The desired revision this push brings the device to. */
  revision: number;
  change: DeviceChange;
  /** The full desired configuration at `revision`, sent instead when the agent has another base. */
  config: DeviceConfig;
}

export interface PushAck {
  device: string;
  revision: number;
  /** delta: the change was applied; full: the agent had another base and got the whole state; already: it had this revision. */
  mode: 'delta' | 'full' | 'already';
  rttMs: number;
}

interface Pending {
  device: string;
  from: string;
  resolve: (iq: Element) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class XmppDriver extends EventEmitter {
  private readonly xmpp: Client;
  private readonly pending = new Map<string, Pending>();
  private readonly renderer: PushRenderer;
  private readonly timeoutMs: number;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private nextId = 0;
  /** Replies dropped because they came from a JID other than the device's (RFC 6120 §8.1.2.1 ids are not secrets). */
  ignoredReplies = 0;

  constructor(private readonly opts: XmppDriverOptions) {
    super();
    this.renderer = opts.renderer ?? new PushRenderer();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.xmpp = createXmppClient({ ...opts, jid: fullJid(opts.jid, CONTROLLER_RESOURCE) }, CONTROLLER_RESOURCE);
    this.xmpp.on('error', (e: Error) => this.emit('warning', e));
    this.xmpp.on('status', (s: string) => {
      this.emit('status', s);
      if (s === 'disconnect' || s === 'offline') this.failPending('the controller lost its XMPP session');
    });
    this.xmpp.on('online', () => this.emit('online'));
    this.xmpp.middleware.use((ctx, next) => this.onReply(ctx.stanza, next));
    this.xmpp.iqCallee.set(NS_PUSH, 'announce', (ctx: unknown) => {
      const c = ctx as { stanza: Element; element: Element };
      return this.onAnnounce(c.stanza, c.element);
    });
  }

  get jid(): string | undefined {
    return this.xmpp.jid?.toString();
  }

  /** IQs sent and not yet answered, timed out or failed. */
  get inFlight(): number {
    return this.pending.size;
  }

  get online(): boolean {
    return this.xmpp.status === 'online';
  }

  async start(): Promise<void> {
    await this.xmpp.start();
  }

  async stop(): Promise<void> {
    this.xmpp.reconnect.stop();
    this.failPending('the driver is stopping');
    await this.xmpp.stop().catch(() => undefined);
  }

  /** Pushes one change; resolves with the agent's acknowledgement, rejects with an XmppError. */
  async apply(device: XmppDevice, input: PushInput): Promise<PushAck> {
    const t0 = performance.now();
    try {
      const reply = await this.request(device, 'set', this.renderer.push(device.id, input.base, input.revision, input.change));
      this.checkApplied(device, reply, input.revision);
      return { device: device.id, revision: input.revision, mode: 'delta', rttMs: performance.now() - t0 };
    } catch (e) {
      if (!(e instanceof XmppError) || !e.application) throw e;
      const have = Number(e.application.attrs.have);
      // The agent took this revision already (a retry after a lost answer, or a resync got there first).
      if (e.application.name === 'stale-revision' && have >= input.revision) return { device: device.id, revision: input.revision, mode: 'already', rttMs: performance.now() - t0 };
      if (e.application.name !== 'revision-gap') throw e;
      const ack = await this.sync(device, input.revision, input.config);
      return { ...ack, rttMs: performance.now() - t0 };
    }
  }

  /** Sends the whole configuration at `revision`; the agent replaces what it has. */
  async sync(device: XmppDevice, revision: number, config: DeviceConfig): Promise<PushAck> {
    const t0 = performance.now();
    try {
      const reply = await this.request(device, 'set', this.renderer.sync(device.id, revision, config));
      this.checkApplied(device, reply, revision);
      return { device: device.id, revision, mode: 'full', rttMs: performance.now() - t0 };
    } catch (e) {
      if (e instanceof XmppError && e.application?.name === 'stale-revision' && Number(e.application.attrs.have) >= revision) {
        return { device: device.id, revision, mode: 'already', rttMs: performance.now() - t0 };
      }
      throw e;
    }
  }

  /** The agent's revision and configuration (drift checks, `nvo device show`). */
  async state(device: XmppDevice): Promise<{ revision: number; config: DeviceConfig }> {
    const reply = await this.request(device, 'get', this.renderer.stateQuery(device.id));
    const st = reply.getChild('state', NS_PUSH);
    if (!st) throw new XmppError(device.id, 'undefined-condition', 'state answer without <state/>', false);
    return { revision: revisionAttr(st, 'revision', 'state'), config: readEntries(st, 'state') };
  }

  /** Brings an agent that reports `agentRevision` to the desired state in Redis, and records it applied. */
  async resync(device: XmppDevice, agentRevision: number): Promise<PushAck | null> {
    const desired = await this.opts.store.desired(device.id);
    if (agentRevision === desired.revision) return null;
    if (agentRevision > desired.revision) {
      // Only when Redis lost state the agent had; its configuration is not ours to overwrite silently.
      const err = new XmppError(device.id, 'conflict', `agent has revision ${agentRevision}, desired state is at ${desired.revision}`, false);
      await this.opts.store.recordError(device.id, { code: err.code, message: err.message });
      throw err;
    }
    const ack = await this.sync(device, desired.revision, desired.config);
    await this.opts.store.recordApplied(device.id, desired.revision, desired.config, { committed: true });
    this.emit('resynced', ack);
    return ack;
  }

  private agentJid(device: XmppDevice): string {
    if (!device.jid) throw new XmppError(device.id, 'item-not-found', 'the device has no jid', false);
    return fullJid(device.jid, AGENT_RESOURCE);
  }

  private checkApplied(device: XmppDevice, reply: Element, revision: number): void {
    const applied = reply.getChild('applied', NS_PUSH);
    const got = applied ? Number(applied.attrs.revision) : NaN;
    if (got !== revision) throw new XmppError(device.id, 'undefined-condition', `the agent acknowledged revision ${String(applied?.attrs.revision)} for ${revision}`, false);
  }

  private request(device: XmppDevice, type: 'get' | 'set', payload: Element): Promise<Element> {
    const to = this.agentJid(device);
    if (this.xmpp.status !== 'online') return Promise.reject(XmppError.offline(device.id, `the controller is ${this.xmpp.status}, not online`));
    const id = `${this.idPrefix}-${++this.nextId}`;
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(XmppError.timeout(device.id, this.timeoutMs));
      }, this.timeoutMs);
      this.pending.set(id, { device: device.id, from: device.jid!, resolve, reject, timer });
      this.xmpp.send(xml('iq', { type, to, id }, payload)).catch((e: Error) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(XmppError.offline(device.id, e.message));
      });
    });
  }

  private onReply(stanza: Element, next: () => Promise<unknown>): Promise<unknown> | undefined {
    const { name, attrs } = stanza;
    if (name !== 'iq' || (attrs.type !== 'result' && attrs.type !== 'error')) return next();
    const p = this.pending.get(attrs.id as string);
    if (!p) return next();
    if (!jidMatches(p.from, attrs.from as string | undefined)) {
      this.ignoredReplies++;
      this.emit('ignored', { id: attrs.id, from: attrs.from, expected: p.from });
      return undefined;
    }
    this.pending.delete(attrs.id as string);
    clearTimeout(p.timer);
    if (attrs.type === 'result') p.resolve(stanza);
    else p.reject(XmppError.fromElement(p.device, stanza.getChild('error')));
    return undefined;
  }

  private async onAnnounce(stanza: Element, el: Element): Promise<Element | object> {
    const from = stanza.attrs.from as string | undefined;
    const device = from ? await this.opts.deviceByJid(splitJid(from).bare) : undefined;
    if (!device || !jidMatches(device.jid ?? '', from)) return errorElement('auth', 'forbidden', `${from ?? 'an unknown sender'} is not the JID of any xmpp device`);
    let have: number;
    try {
      have = revisionAttr(el, 'revision', 'announce');
    } catch (e) {
      return errorElement('modify', 'bad-request', (e as Error).message, { name: 'bad-value' });
    }
    this.emit('announce', { device: device.id, revision: have });
    // The gateway agent is there: the aNVE counts as registered (views show it) whatever its revision.
    await this.opts.store.recordReached(device.id, 'xmpp-announce').catch((e: Error) => this.emit('warning', e));
    // Answer first, then resync: the agent learns at once that it was heard.
    setImmediate(() => {
      this.resync(device, have).catch((e: Error) => this.emit('resync-failed', { device: device.id, error: e }));
    });
    return {};
  }

  private failPending(why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(XmppError.offline(p.device, why));
    }
  }
}
