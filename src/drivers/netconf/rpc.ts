// The NETCONF session (RFC 6241 §8.1 hello, §4.1 rpc/rpc-reply): capabilities exchange, framing
// choice, and replies matched to requests by message-id so many RPCs can be in flight at once.
// Every RPC has a timeout, and a lost session rejects everything pending at once.
import type { Element } from '@xmldom/xmldom';
import { FrameDecoder, encodeMessage, type Framing } from './framing.ts';
import { NetconfError } from './netconf-error.ts';
import { RpcError, parseRpcErrors, type RpcErrorDetail } from './rpc-error.ts';
import { openTransport, type Transport, type TransportOptions } from './transport.ts';
import { NC_NS, child, children, parseXml, text } from './xml.ts';

export const BASE_10 = 'urn:ietf:params:netconf:base:1.0';
export const BASE_11 = 'urn:ietf:params:netconf:base:1.1';

export interface SessionOptions extends TransportOptions {
  /** Default per-RPC timeout. */
  rpcTimeoutMs?: number;
  helloTimeoutMs?: number;
  /** Offer only this framing in our hello (tests and odd devices); both by default. */
  framing?: Framing;
  /** Split our base:1.1 messages into chunks of at most this many bytes. */
  maxChunk?: number;
}

export interface RpcReply {
  reply: Element;
  warnings: RpcErrorDetail[];
}

interface Pending {
  resolve: (r: RpcReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  operation: string;
}

export class NetconfSession {
  sessionId = 0;
  serverCapabilities = new Set<string>();
  framing: Framing = '1.0';
  private decoder = new FrameDecoder('1.0');
  private pending = new Map<string, Pending>();
  private nextId = 1;
  private closedWith: NetconfError | null = null;
  private helloWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;

  private constructor(
    private transport: Transport,
    private opts: SessionOptions,
  ) {}

  static async open(opts: SessionOptions): Promise<NetconfSession> {
    const transport = await openTransport(opts);
    const s = new NetconfSession(transport, opts);
    try {
      await s.hello();
      await s.startupProbe();
    } catch (err) {
      s.end(err instanceof NetconfError ? err : new NetconfError('protocol', String(err)));
      throw err;
    }
    return s;
  }

  // netconfd reads only the first message of a read while a session starts, so our first RPC can
  // sit unanswered until more input arrives: a cheap probe, re-sent while unanswered, nudges it.
  private async startupProbe(): Promise<void> {
    const probe = '<get-config><source><running/></source><filter type="subtree"><probe xmlns="urn:nvo3:nvo:probe"/></filter></get-config>';
    for (let i = 1; ; i++) {
      try {
        await this.rpc(probe, { timeoutMs: Math.min(200 * i, 2_000), operation: 'startup-probe' });
        return;
      } catch (err) {
        if (err instanceof RpcError) return; // answered: the session works
        if (!(err instanceof NetconfError && err.netconfCode === 'timeout') || i >= 15) throw err;
      }
    }
  }

  get where(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get isOpen(): boolean {
    return this.closedWith === null;
  }

  has(capability: string): boolean {
    for (const c of this.serverCapabilities) if (c === capability || c.startsWith(`${capability}?`)) return true;
    return false;
  }

  private hello(): Promise<void> {
    const timeout = this.opts.helloTimeoutMs ?? 10_000;
    const ours = this.opts.framing === '1.0' ? [BASE_10] : this.opts.framing === '1.1' ? [BASE_11] : [BASE_10, BASE_11];
    const done = new Promise<void>((resolve, reject) => {
      this.helloWaiter = { resolve, reject };
      setTimeout(() => reject(new NetconfError('timeout', `${this.where}: no NETCONF hello within ${timeout} ms`)), timeout).unref();
    });
    this.transport.onData((data) => this.onData(data));
    this.transport.onClose((err) => this.end(new NetconfError('session-lost', `${this.where}: NETCONF session ${this.sessionId} closed${err ? `: ${err.message}` : ''}`)));
    // Sent at once, before the server's hello arrives: netconfd handles only the first message of a
    // read while a session starts, so a hello that shares a read with an RPC can stall that RPC.
    this.transport.write(
      encodeMessage(
        `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="${NC_NS}"><capabilities>${ours.map((c) => `<capability>${c}</capability>`).join('')}</capabilities></hello>`,
        '1.0',
      ),
    );
    return done;
  }

  private onHello(root: Element): void {
    const caps = child(root, 'capabilities');
    for (const c of caps ? children(caps, 'capability') : []) this.serverCapabilities.add(text(c) ?? '');
    this.sessionId = Number(text(child(root, 'session-id')) ?? 0);
    const offered11 = this.opts.framing !== '1.0';
    const offered10 = this.opts.framing !== '1.1';
    // RFC 6241 §8.1 / RFC 6242 §4.1: chunked framing when both sides announce base:1.1.
    if (offered11 && this.serverCapabilities.has(BASE_11)) this.framing = '1.1';
    else if (offered10 && this.serverCapabilities.has(BASE_10)) this.framing = '1.0';
    else throw new NetconfError('protocol', `${this.where}: no common NETCONF base version (server: ${[...this.serverCapabilities].filter((c) => c.includes(':base:')).join(', ')})`);
    this.decoder.setFraming(this.framing);
  }

  private onData(data: Buffer): void {
    this.decoder.push(data);
    for (;;) {
      let msg: string | null;
      try {
        msg = this.decoder.next();
      } catch (err) {
        this.end(new NetconfError('framing', `${this.where}: ${(err as Error).message}; session ended`));
        return;
      }
      if (msg === null) return;
      this.onMessage(msg);
      if (this.closedWith) return;
    }
  }

  private onMessage(msg: string): void {
    let root: Element;
    try {
      root = parseXml(msg);
    } catch (err) {
      this.end(new NetconfError('protocol', `${this.where}: ${(err as Error).message}`));
      return;
    }
    if (this.helloWaiter) {
      const w = this.helloWaiter;
      this.helloWaiter = null;
      if (root.localName !== 'hello') return w.reject(new NetconfError('protocol', `${this.where}: expected <hello>, got <${root.localName}>`));
      try {
        this.onHello(root);
        w.resolve();
      } catch (err) {
        w.reject(err as Error);
      }
      return;
    }
    if (root.localName !== 'rpc-reply') return; // notifications are not subscribed to
    const id = root.getAttribute('message-id') ?? '';
    // RFC 6241 §4.3: a server that could not parse the request may answer without message-id.
    const key = this.pending.has(id) ? id : this.pending.size === 1 && !id ? [...this.pending.keys()][0]! : null;
    const p = key !== null ? this.pending.get(key) : undefined;
    if (!p || key === null) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    const { errors, warnings } = parseRpcErrors(root);
    if (errors.length) p.reject(new RpcError(errors, warnings, p.operation));
    else p.resolve({ reply: root, warnings });
  }

  /** Sends one <rpc> whose body is `body` (already-escaped XML) and waits for its reply. */
  rpc(body: string, opts: { timeoutMs?: number; operation?: string } = {}): Promise<RpcReply> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = String(this.nextId++);
    const operation = opts.operation ?? /^<([\w-]+)/.exec(body)?.[1] ?? 'rpc';
    const timeout = opts.timeoutMs ?? this.opts.rpcTimeoutMs ?? 60_000;
    return new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new NetconfError('timeout', `${this.where}: ${operation} (message-id ${id}) not answered within ${timeout} ms`, { operation }));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer, operation });
      this.transport.write(encodeMessage(`<rpc xmlns="${NC_NS}" message-id="${id}">${body}</rpc>`, this.framing, this.opts.maxChunk));
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Ends the session: every pending RPC is rejected with `why` at once. */
  end(why: NetconfError = new NetconfError('session-lost', `${this.where}: session closed by nvo`)): void {
    if (this.closedWith) return;
    this.closedWith = why;
    if (this.helloWaiter) {
      this.helloWaiter.reject(why);
      this.helloWaiter = null;
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(why);
    }
    this.pending.clear();
    this.transport.close();
  }
}
