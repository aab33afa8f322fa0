// One NETCONF session on a simulated device, over an SSH channel of the "netconf" subsystem
// (RFC 6242 §3): our hello first, the client's hello, then base:1.1 chunked framing when both
// announced it (§4.1), RPCs answered one at a time in the order they came (RFC 6241 §4.2).
import type { Element } from '@xmldom/xmldom';
import { FrameDecoder, FramingError, encodeMessage, type Framing } from '../drivers/netconf/framing.ts';
import { NC_NS, child, children, escapeXml, parseXml, text } from '../drivers/netconf/xml.ts';
import { DeviceError, rpcErrorXml, type RpcErrorSpec } from './device-error.ts';
import type { Device, SessionHandle } from './device.ts';
import { runOperation } from './operations.ts';

export const BASE_10 = 'urn:ietf:params:netconf:base:1.0';
export const BASE_11 = 'urn:ietf:params:netconf:base:1.1';

export function serverCapabilities(bases: Framing[]): string[] {
  const cap = 'urn:ietf:params:netconf:capability';
  return [
    ...(bases.includes('1.0') ? [BASE_10] : []),
    ...(bases.includes('1.1') ? [BASE_11] : []),
    `${cap}:candidate:1.0`,
    `${cap}:confirmed-commit:1.0`,
    `${cap}:confirmed-commit:1.1`,
    `${cap}:validate:1.0`,
    `${cap}:validate:1.1`,
    `${cap}:rollback-on-error:1.0`,
    'urn:nvo3:lab?module=nvo3-lab&revision=2026-11-27',
  ];
}

/** What a session needs from its SSH channel. */
export interface Channel {
  write(data: Buffer): void;
  onData(cb: (data: Buffer) => void): void;
  onClose(cb: () => void): void;
  /** Ends the SSH connection (close-session, kill-session, an injected drop). */
  end(): void;
}

export class ServerSession {
  private handle!: SessionHandle;
  private framing: Framing = '1.0';
  private decoder = new FrameDecoder('1.0');
  private helloDone = false;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private device: Device,
    private channel: Channel,
    private bases: Framing[],
    username: string,
  ) {
    this.handle = device.openSession((id) => ({ id, username, openedAt: Date.now(), kill: () => this.close() }));
  }

  get id(): number {
    return this.handle.id;
  }

  start(): void {
    this.channel.onClose(() => this.close());
    this.channel.onData((d) => this.onData(d));
    // RFC 6241 §8.1: each side sends its hello at once; ours carries the session-id
    const caps = serverCapabilities(this.bases)
      .map((c) => `<capability>${escapeXml(c)}</capability>`)
      .join('');
    this.send(`<?xml version="1.0" encoding="UTF-8"?><hello xmlns="${NC_NS}"><capabilities>${caps}</capabilities><session-id>${this.id}</session-id></hello>`);
  }

  private send(xml: string): void {
    if (!this.closed) this.channel.write(encodeMessage(xml, this.helloDone ? this.framing : '1.0'));
  }

  private onData(data: Buffer): void {
    this.decoder.push(data);
    for (;;) {
      let msg: string | null;
      try {
        msg = this.decoder.next();
      } catch (err) {
        if (!(err instanceof FramingError)) throw err;
        return this.close(); // RFC 6242 §4.2: nothing after a framing error can be trusted
      }
      if (msg === null || this.closed) return;
      // The hello switches the framing for the bytes that follow it, so it is handled right here.
      if (!this.helloDone) this.onHello(msg);
      else {
        const m = msg;
        this.queue = this.queue.then(() => this.onRpc(m));
      }
    }
  }

  private onHello(msg: string): void {
    let root: Element;
    try {
      root = parseXml(msg);
    } catch {
      return this.close();
    }
    const caps = new Set(children(child(root, 'capabilities') ?? root, 'capability').map((c) => text(c) ?? ''));
    // RFC 6241 §8.1: a client hello with a session-id, or no common base version, ends the session
    if (root.localName !== 'hello' || child(root, 'session-id')) return this.close();
    const framing: Framing | null = caps.has(BASE_11) && this.bases.includes('1.1') ? '1.1' : caps.has(BASE_10) && this.bases.includes('1.0') ? '1.0' : null;
    if (!framing) return this.close();
    this.framing = framing;
    this.decoder.setFraming(framing);
    this.helloDone = true;
  }

  private async onRpc(msg: string): Promise<void> {
    if (this.closed) return;
    let root: Element;
    try {
      root = parseXml(msg.trimStart());
    } catch (err) {
      return this.reply('', [{ type: 'rpc', tag: 'malformed-message', message: (err as Error).message }]);
    }
    if (root.localName !== 'rpc' || root.namespaceURI !== NC_NS) return this.reply('', [{ type: 'rpc', tag: 'unknown-element', message: `expected <rpc>, got <${root.localName}>`, info: { 'bad-element': root.localName ?? '' } }]);
    const attrs = replyAttributes(root);
    if (!root.getAttribute('message-id'))
      return this.reply(attrs, [{ type: 'rpc', tag: 'missing-attribute', message: '<rpc> without message-id', info: { 'bad-attribute': 'message-id', 'bad-element': 'rpc' } }]);
    if (this.device.takeDrop()) return this.close(); // injected fault: vanish without an answer
    // injected fault: a zero-length chunk, which RFC 6242 §4.2 rules out (chunk-size is 1..4294967295)
    if (this.framing === '1.1' && this.device.takeBadChunk()) return this.channel.write(Buffer.from('\n#0\n'));
    this.device.stats.rpcs++;
    const op = children(root)[0];
    if (!op) return this.reply(attrs, [{ type: 'protocol', tag: 'missing-element', message: '<rpc> without an operation', info: { 'bad-element': 'rpc' } }]);
    let closeAfter = false;
    try {
      const body = await runOperation(op, { device: this.device, sessionId: this.id, closeAfterReply: () => (closeAfter = true) });
      this.reply(attrs, [], body);
    } catch (err) {
      // a fault of netsim itself still answers, so one bad request cannot stop a whole fleet
      this.reply(attrs, err instanceof DeviceError ? err.errors : [{ type: 'application', tag: 'operation-failed', message: `netsim internal error: ${(err as Error).message}` }]);
    }
    if (closeAfter) this.close();
  }

  private reply(attrs: string, errors: RpcErrorSpec[], body = ''): void {
    this.send(`<rpc-reply xmlns="${NC_NS}"${attrs}>${errors.length ? errors.map(rpcErrorXml).join('') : body}</rpc-reply>`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.device.sessionClosed(this.id);
    this.channel.end();
  }
}

// RFC 6241 §4.2: the reply carries every attribute of the <rpc>, message-id and any other.
function replyAttributes(rpc: Element): string {
  let out = '';
  for (const a of Array.from(rpc.attributes)) {
    if (a.name === 'xmlns') continue;
    out += ` ${a.name}="${escapeXml(a.value)}"`;
  }
  return out;
}
