// The client half: connects, signs every request with the digest (answering a 401 by retrying with
// the nonce it gave), matches answers to requests by tid, hands provisional answers to the caller,
// and answers requests the server pushes (NOTIFY, OPTIONS). A request whose final answer never comes
// ends in a 408 made here. Used by the tenant proxy towards network proxies and by NVE agents.
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { digest } from '../auth/digest.ts';
import { decode, encode } from '../protocol/codec.ts';
import { isProvisional, type FinalAnswer, type Method, type Request, type Response } from '../protocol/messages.ts';
import { REASONS } from '../protocol/status.ts';

export interface ClientOptions {
  /** Who we are (`from`) and the secret we prove it with. */
  identity: string;
  secret: string;
  /** Who we talk to (`to`). */
  peer: string;
  /** Time for a final answer before the request ends in 408. */
  timeoutMs?: number;
  onRequest?: (req: Request) => Promise<FinalAnswer> | FinalAnswer;
  /** CSeq per call id, owned by the caller so it survives a reconnect (RFC 3261 §12.2.1.1: it only grows). */
  cseqs?: Map<string, number>;
  onClose?: () => void;
}

export interface RequestOptions {
  callId?: string;
  onProvisional?: (r: Response) => void;
  timeoutMs?: number;
}

interface Pending {
  resolve: (r: Response) => void;
  onProvisional?: (r: Response) => void;
  timer: NodeJS.Timeout;
}

export class ProtocolClient {
  private readonly pending = new Map<string, Pending>();
  private readonly cseqs: Map<string, number>;
  private nonce: string | null = null;
  private nc = 0;
  private closed = false;

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: ClientOptions,
  ) {
    this.cseqs = opts.cseqs ?? new Map();
    ws.on('message', (data) => this.onFrame(data as Buffer));
    ws.on('close', () => {
      this.closed = true;
      for (const [tid, p] of this.pending) {
        clearTimeout(p.timer);
        p.resolve({ tid, status: 408, reason: `${REASONS[408]}: connection to ${opts.peer} closed`, body: {} });
      }
      this.pending.clear();
      opts.onClose?.();
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string, opts: ClientOptions): Promise<ProtocolClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new ProtocolClient(ws, opts);
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** Sends a request and resolves with its final answer (after one digest challenge, if any). */
  async request(method: Method, body: Record<string, unknown> = {}, o: RequestOptions = {}): Promise<Response> {
    const callId = o.callId ?? randomUUID();
    let res = await this.once(this.build(method, callId, body), o);
    if (res.status === 401 && typeof res.body.nonce === 'string') {
      this.nonce = res.body.nonce;
      this.nc = 0;
      res = await this.once(this.build(method, callId, body), o);
    }
    return res;
  }

  /** Builds a signed request without sending it (tests retransmit it with `send`). */
  build(method: string, callId: string, body: Record<string, unknown>, signed = true): Request {
    const cseq = (this.cseqs.get(callId) ?? 0) + 1;
    this.cseqs.set(callId, cseq);
    const req: Request = { method, tid: randomUUID(), cseq, callId, from: this.opts.identity, to: this.opts.peer, body };
    if (signed && this.nonce) {
      const nc = ++this.nc;
      req.auth = { nonce: this.nonce, nc, response: digest(this.opts.secret, { nonce: this.nonce, nc, method, from: req.from, callId, tid: req.tid, cseq, body }) };
    }
    return req;
  }

  /** Sends one request as is and waits for its final answer. */
  once(req: Request, o: Pick<RequestOptions, 'onProvisional' | 'timeoutMs'> = {}): Promise<Response> {
    const timeoutMs = o.timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    return new Promise<Response>((resolve) => {
      if (!this.isOpen) return resolve({ tid: req.tid, status: 408, reason: `${REASONS[408]}: not connected to ${this.opts.peer}`, body: {} });
      const timer = setTimeout(() => {
        this.pending.delete(req.tid);
        resolve({ tid: req.tid, status: 408, reason: `${REASONS[408]}: no final answer from ${this.opts.peer} within ${timeoutMs} ms`, body: {} });
      }, timeoutMs);
      this.pending.set(req.tid, { resolve, onProvisional: o.onProvisional, timer });
      this.ws.send(encode(req));
    });
  }

  /** Sends any text (tests send malformed frames with it). */
  sendRaw(text: string): void {
    this.ws.send(text);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }

  private onFrame(data: Buffer): void {
    const d = decode(data, Number.MAX_SAFE_INTEGER);
    if (d.kind === 'invalid') return;
    if (d.kind === 'response') {
      const p = d.msg.tid === null ? undefined : this.pending.get(d.msg.tid);
      if (!p) return;
      if (isProvisional(d.msg.status)) return p.onProvisional?.(d.msg);
      this.pending.delete(d.msg.tid!);
      clearTimeout(p.timer);
      p.resolve(d.msg);
      return;
    }
    void this.answerPushed(d.msg);
  }

  private async answerPushed(req: Request): Promise<void> {
    let a: FinalAnswer;
    try {
      a = this.opts.onRequest ? await this.opts.onRequest(req) : { status: 200 };
    } catch (e) {
      a = { status: 500, reason: e instanceof Error ? e.message : String(e) };
    }
    const res: Response = { tid: req.tid, status: a.status, reason: a.reason ?? REASONS[a.status], method: req.method, cseq: req.cseq, body: a.body ?? {} };
    if (this.isOpen) this.ws.send(encode(res));
  }
}
