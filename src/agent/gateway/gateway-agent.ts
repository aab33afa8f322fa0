// The gateway agent: the aNVE side of docs/xmpp.md. It logs in with its own JID, takes pushes only
// from the controller's JID, applies them through a data plane strictly in revision order (one at a
// time), and tells the controller which revision it has each time its session comes up.
import { EventEmitter } from 'node:events';
import { xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { emptyConfig, type DeviceChange } from '../../model/device-config.ts';
import type { DataPlane } from '../../dataplane/data-plane.ts';
import { createXmppClient, fullJid, jidMatches, type XmppLogin } from '../../drivers/xmpp/connect.ts';
import { AGENT_RESOURCE, CONTROLLER_RESOURCE, NS_PUSH, PushFormatError, entryElements, errorElement, readEntries, revisionAttr } from '../../drivers/xmpp/protocol.ts';

export interface GatewayAgentOptions extends XmppLogin {
  /** The controller's JID; pushes from any other JID are refused. Announcements go to its full JID. */
  controller: string;
  dataPlane: DataPlane;
  /** The revision the data plane already has (0: unknown, the controller sends everything). */
  revision?: number;
  /** Pause between announcement attempts while the controller does not answer. */
  announceRetryMs?: number;
}

export class GatewayAgent extends EventEmitter {
  private readonly xmpp: Client;
  private rev: number;
  private queue: Promise<unknown> = Promise.resolve();
  private session = 0;
  private stopped = false;
  private cancelWait: (() => void) | null = null;

  constructor(private readonly opts: GatewayAgentOptions) {
    super();
    this.rev = opts.revision ?? 0;
    this.xmpp = createXmppClient({ ...opts, jid: fullJid(opts.jid, AGENT_RESOURCE) }, AGENT_RESOURCE);
    this.xmpp.on('error', (e: Error) => this.emit('warning', e));
    this.xmpp.on('status', (s: string) => this.emit('status', s));
    this.xmpp.on('online', () => void this.announce(++this.session));
    // After @xmpp/iq's callee has checked the IQ's shape (one child), before its router: every
    // get/set that is not a ping lands here so that each gets a precise error, not a generic one.
    this.xmpp.middleware.use((ctx: unknown, next: () => Promise<unknown>) => {
      const c = ctx as { stanza: Element; element?: Element };
      const { stanza } = c;
      if (stanza.name !== 'iq' || (stanza.attrs.type !== 'set' && stanza.attrs.type !== 'get') || !c.element) return next();
      if (c.element.is('ping', 'urn:xmpp:ping')) return next();
      return this.serial(() => this.onRequest(stanza, c.element!));
    });
  }

  get revision(): number {
    return this.rev;
  }

  get status(): string {
    return this.xmpp.status;
  }

  // One login attempt. @xmpp/reconnect retries (every 1 s, forever) only once a session has existed:
  // it reacts to 'disconnect', which a refused first connection also emits, racing the caller's own
  // retry. So it is off until the first login succeeds, and a failed attempt leaves the client
  // 'offline' again so that start() can be called once more (runGatewayAgent's backoff loop).
  async start(): Promise<void> {
    this.stopped = false;
    this.xmpp.reconnect.stop();
    try {
      await this.xmpp.start();
    } catch (e) {
      await this.xmpp.stop().catch(() => undefined);
      throw e;
    }
    this.xmpp.reconnect.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.session++;
    this.cancelWait?.();
    this.xmpp.reconnect.stop();
    await this.xmpp.stop().catch(() => undefined);
    await this.queue.catch(() => undefined);
  }

  // One request at a time: the revision check and the data-plane change it guards must not interleave.
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async onRequest(stanza: Element, el: Element): Promise<Element | object> {
    const from = stanza.attrs.from as string | undefined;
    if (!jidMatches(this.opts.controller, from)) {
      this.emit('refused', { from, condition: 'forbidden' });
      return errorElement('auth', 'forbidden', `${from ?? 'a sender without a JID'} is not the controller; pushes are taken only from ${this.opts.controller}`);
    }
    const ns = (el.attrs.xmlns as string | undefined) ?? '';
    if (ns !== NS_PUSH) {
      this.emit('refused', { from, condition: 'feature-not-implemented' });
      return errorElement('cancel', 'feature-not-implemented', `{${ns}}${el.name} is not understood; this agent speaks ${NS_PUSH}`);
    }
    const type = stanza.attrs.type as string;
    try {
      if (type === 'set' && el.name === 'push') return await this.onPush(el);
      if (type === 'set' && el.name === 'sync') return await this.onSync(el);
      if (type === 'get' && el.name === 'state') return await this.onState();
    } catch (e) {
      if (e instanceof PushFormatError) {
        this.emit('refused', { from, condition: 'bad-request', field: e.field });
        return errorElement('modify', 'bad-request', e.message, { name: 'bad-value', attrs: { field: e.field } });
      }
      // The data plane refused or failed: nothing was recorded, the controller retries (type wait).
      this.emit('refused', { from, condition: 'internal-server-error', error: e });
      return errorElement('wait', 'internal-server-error', `data plane: ${(e as Error).message}`);
    }
    this.emit('refused', { from, condition: 'bad-request' });
    return errorElement('modify', 'bad-request', `<${el.name}/> in an IQ ${type} is not part of ${NS_PUSH} (push and sync are sets, state is a get)`);
  }

  private staleOrGap(revision: number, base: number | null): Element | null {
    if (revision <= this.rev) {
      this.emit('refused', { condition: 'conflict', revision, have: this.rev });
      return errorElement('cancel', 'conflict', `revision ${revision} is not newer than the revision this agent has (${this.rev})`, {
        name: 'stale-revision',
        attrs: { have: String(this.rev), revision: String(revision) },
      });
    }
    if (base !== null && base !== this.rev) {
      this.emit('refused', { condition: 'unexpected-request', revision, have: this.rev });
      return errorElement('modify', 'unexpected-request', `push is based on revision ${base} but this agent has ${this.rev}; send the full state`, {
        name: 'revision-gap',
        attrs: { have: String(this.rev), base: String(base) },
      });
    }
    return null;
  }

  private async onPush(el: Element): Promise<Element> {
    const revision = revisionAttr(el, 'revision', 'push');
    const base = revisionAttr(el, 'base', 'push');
    for (const c of el.getChildElements()) {
      if (c.name !== 'merge' && c.name !== 'remove') throw new PushFormatError(`push/${c.name}`, 'unknown element (expected merge and remove)');
    }
    const part = (name: string) => {
      const p = el.getChild(name);
      return p ? readEntries(p, `push/${name}`) : emptyConfig();
    };
    const change: DeviceChange = { merge: part('merge'), remove: part('remove') };
    const refusal = this.staleOrGap(revision, base);
    if (refusal) return refusal;
    await this.opts.dataPlane.apply(change, { revision });
    this.rev = revision;
    this.emit('applied', { revision, mode: 'delta' });
    return xml('applied', { xmlns: NS_PUSH, revision: String(revision) });
  }

  private async onSync(el: Element): Promise<Element> {
    const revision = revisionAttr(el, 'revision', 'sync');
    const config = readEntries(el, 'sync');
    const refusal = this.staleOrGap(revision, null);
    if (refusal) return refusal;
    await this.opts.dataPlane.reconcile(config, { revision });
    this.rev = revision;
    this.emit('applied', { revision, mode: 'full' });
    return xml('applied', { xmlns: NS_PUSH, revision: String(revision) });
  }

  private async onState(): Promise<Element> {
    const config = await this.opts.dataPlane.read();
    return xml('state', { xmlns: NS_PUSH, revision: String(this.rev) }, ...entryElements(config));
  }

  // Until the controller acknowledges, retry: it may come up after us (both reconnect after a server
  // restart). This is delivery, not guessing: the controller decides from the revision what to send.
  private async announce(session: number): Promise<void> {
    const to = fullJid(this.opts.controller, CONTROLLER_RESOURCE);
    while (session === this.session && !this.stopped && this.xmpp.status === 'online') {
      try {
        await this.xmpp.iqCaller.request(xml('iq', { type: 'set', to }, xml('announce', { xmlns: NS_PUSH, revision: String(this.rev) })), 10_000);
        this.emit('announced', { revision: this.rev });
        return;
      } catch (e) {
        this.emit('announce-failed', e);
        // Offline controller (service-unavailable) or a lost answer: soon. A refusal (forbidden: the
        // inventory does not know this JID yet) will not change in a second: slowly.
        const condition = (e as { condition?: string }).condition;
        const refused = condition !== undefined && condition !== 'service-unavailable' && condition !== 'recipient-unavailable';
        await new Promise<void>((r) => {
          const timer = setTimeout(r, refused ? 30_000 : (this.opts.announceRetryMs ?? 1_000));
          this.cancelWait = () => (clearTimeout(timer), r());
        });
        this.cancelWait = null;
      }
    }
  }
}
