// The server half of the protocol over WebSocket (ws). One pipeline for every request:
//   decode (400/413) → method known (405/501) → retransmission? (answer again) → authenticate
//   (401/403) → transaction begun → CSeq grows (400) → 100 Trying → handler → final answer recorded.
// Handlers are plain async functions per method; the proxies compose them.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { NvoError } from '../../errors.ts';
import type { Authenticator, Logger } from '../auth/authenticator.ts';
import { decode, encode, DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/codec.ts';
import { METHODS, isProvisional, type FinalAnswer, type Method, type Request, type Response } from '../protocol/messages.ts';
import { REASONS, StatusError, statusOfError, type Status } from '../protocol/status.ts';
import type { Transactions } from './transactions.ts';

export interface Connection {
  readonly id: string;
  readonly remote: string;
  /** The identity that first authenticated on this connection; no other may use it. */
  identity: string | null;
  send(msg: Request | Response): void;
  /** Sends a request to the peer; resolves with its final answer, or a 408 made here when it never comes. */
  request(req: Request, timeoutMs?: number): Promise<Response>;
  close(): void;
}

export interface RequestContext {
  req: Request;
  identity: string;
  conn: Connection;
  /** A provisional answer (183) before the final one. */
  progress(status: 183, reason: string, body?: Record<string, unknown>): void;
}

export type Handler = (ctx: RequestContext) => Promise<FinalAnswer>;

export interface ServerOptions {
  port?: number;
  host?: string;
  /** Attach to an existing HTTP server instead of listening on a port of its own. */
  server?: HttpServer;
  maxBytes?: number;
  authenticator: Authenticator;
  transactions: Transactions;
  handlers: Partial<Record<Method, Handler>>;
  log: Logger & { error(obj: object, msg: string): void };
  /** How long a pushed request waits for the NVE's answer before 408. */
  pushTimeoutMs?: number;
  onConnectionClosed?(conn: Connection): void;
}

export class ProtocolServer {
  private readonly wss: WebSocketServer;
  private readonly byIdentity = new Map<string, Connection>();
  private readonly maxBytes: number;

  constructor(private readonly opts: ServerOptions) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    // ws drops the connection (1009) above maxPayload; keep that far above our own limit so a merely
    // oversized message gets its 413 and the connection stays.
    const maxPayload = this.maxBytes * 16;
    this.wss = opts.server ? new WebSocketServer({ server: opts.server, maxPayload }) : new WebSocketServer({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1', maxPayload });
    this.wss.on('connection', (ws, req) => this.accept(ws, req));
    // Kept for listening(): a port in use must be one clear error, not an unhandled 'error' event.
    this.wss.on('error', (e) => (this.listenError = e));
  }

  private listenError: Error | null = null;

  async listening(): Promise<number> {
    if (this.opts.server) return (this.opts.server.address() as AddressInfo).port;
    const where = `${this.opts.host ?? '127.0.0.1'}:${this.opts.port ?? 0}`;
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => reject(new NvoError('unavailable', `cannot listen on ${where}: ${e.message}`, [], { code: (e as NodeJS.ErrnoException).code }));
      if (this.wss.address()) return resolve();
      if (this.listenError) return fail(this.listenError);
      this.wss.once('listening', () => resolve());
      this.wss.once('error', fail);
    });
    return (this.wss.address() as AddressInfo).port;
  }

  /** The local connection an identity uses, if it is connected to this process. */
  connectionOf(identity: string): Connection | undefined {
    return this.byIdentity.get(identity);
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, httpReq: IncomingMessage): void {
    const pending = new Map<string, { resolve: (r: Response) => void; timer: NodeJS.Timeout }>();
    const pushTimeout = this.opts.pushTimeoutMs ?? 10_000;
    const conn: Connection = {
      id: randomUUID(),
      remote: `${httpReq.socket.remoteAddress}:${httpReq.socket.remotePort}`,
      identity: null,
      send: (msg) => {
        if (ws.readyState === ws.OPEN) ws.send(encode(msg));
      },
      request: (req, timeoutMs = pushTimeout) =>
        new Promise<Response>((resolve) => {
          const timer = setTimeout(() => {
            pending.delete(req.tid);
            resolve({ tid: req.tid, status: 408, reason: `${REASONS[408]}: no answer from ${conn.identity ?? conn.remote} within ${timeoutMs} ms`, body: {} });
          }, timeoutMs);
          pending.set(req.tid, { resolve, timer });
          conn.send(req);
        }),
      close: () => ws.close(),
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        conn.send({ tid: null, status: 400, reason: `${REASONS[400]}: messages are text frames of JSON`, body: {} });
        return;
      }
      const d = decode(data as Buffer, this.maxBytes);
      if (d.kind === 'invalid') return conn.send(d.reply);
      if (d.kind === 'response') {
        if (isProvisional(d.msg.status) || d.msg.tid === null) return;
        const p = pending.get(d.msg.tid);
        if (p) {
          pending.delete(d.msg.tid);
          clearTimeout(p.timer);
          p.resolve(d.msg);
        }
        return;
      }
      this.handle(conn, d.msg).catch((e: unknown) => this.opts.log.error({ err: e, tid: d.msg.tid }, 'request pipeline failed'));
    });
    ws.on('error', (e) => this.opts.log.warn({ err: e.message, remote: conn.remote }, 'websocket error'));
    ws.on('close', () => {
      for (const p of pending.values()) clearTimeout(p.timer);
      if (conn.identity && this.byIdentity.get(conn.identity) === conn) this.byIdentity.delete(conn.identity);
      this.opts.onConnectionClosed?.(conn);
    });
  }

  private answer(req: Request, status: Status, reason: string, body: Record<string, unknown> = {}, retryAfter?: number): Response {
    return { tid: req.tid, status, reason, method: req.method, cseq: req.cseq, body, ...(retryAfter !== undefined ? { retryAfter } : {}) };
  }

  private async handle(conn: Connection, req: Request): Promise<void> {
    const t0 = performance.now();
    const send = (r: Response) => conn.send(r);
    if (!(METHODS as readonly string[]).includes(req.method)) {
      return send(this.answer(req, 405, `${REASONS[405]}: ${req.method}`, { allow: Object.keys(this.opts.handlers) }));
    }
    const handler = this.opts.handlers[req.method as Method];
    if (!handler) return send(this.answer(req, 501, `${REASONS[501]}: ${req.method} is not implemented here`, { allow: Object.keys(this.opts.handlers) }));

    const auth = req.auth?.response ?? '';
    const tx = this.opts.transactions;
    const earlier = await tx.find(req.from, req.tid);
    if (earlier) return send(this.retransmitted(req, earlier, auth));

    let identity: string;
    try {
      identity = await this.opts.authenticator.authenticate(req, conn.remote);
    } catch (e) {
      return send(this.finalOf(req, e));
    }
    if (conn.identity && conn.identity !== identity) {
      this.opts.log.warn({ identity, owner: conn.identity, remote: conn.remote }, 'identity switch on a connection refused');
      return send(this.answer(req, 403, `this connection belongs to ${conn.identity}`));
    }
    const raced = await tx.begin(identity, req.tid, auth);
    if (raced) return send(this.retransmitted(req, raced, auth));
    if (!conn.identity) {
      conn.identity = identity;
      this.byIdentity.set(identity, conn);
    } else if (this.byIdentity.get(identity) !== conn) this.byIdentity.set(identity, conn);

    let final: Response;
    // CANCEL carries the CSeq of the request it cancels (RFC 3261 §9.1), so it is not ordered.
    const last = req.method === 'CANCEL' ? null : await tx.advanceCseq(identity, req.callId, req.cseq);
    if (last !== null) {
      final = this.answer(req, 400, `${REASONS[400]}: cseq ${req.cseq} is not above ${last}, the last of call ${req.callId}`, { issues: [{ field: 'cseq', reason: `must be above ${last}` }] });
    } else {
      if (req.method === 'INVITE') send(this.answer(req, 100, REASONS[100]));
      const ctx: RequestContext = { req, identity, conn, progress: (status, reason, body) => send(this.answer(req, status, reason, body)) };
      try {
        const a = await handler(ctx);
        final = this.answer(req, a.status, a.reason ?? REASONS[a.status], a.body ?? {}, a.retryAfter);
      } catch (e) {
        final = this.finalOf(req, e);
      }
    }
    await tx.complete(identity, req.tid, auth, final);
    send(final);
    // One line per executed request, keyed by its session (call id): what an operator follows a VM by.
    this.opts.log.info?.({ method: req.method, callId: req.callId, from: identity, cseq: req.cseq, status: final.status, ms: Math.round(performance.now() - t0) }, `${req.method} ${final.status}`);
  }

  private retransmitted(req: Request, rec: { state: string; auth: string; final?: Response }, auth: string): Response {
    if (rec.auth !== auth) return this.answer(req, 400, `${REASONS[400]}: transaction id ${req.tid} was used by another request`, { issues: [{ field: 'tid', reason: 'already used' }] });
    return rec.final ?? this.answer(req, 100, REASONS[100]);
  }

  private finalOf(req: Request, e: unknown): Response {
    if (e instanceof StatusError) return this.answer(req, e.status, e.message, e.body, e.retryAfter);
    if (e instanceof NvoError) {
      const s = statusOfError(e);
      return this.answer(req, s.status, s.message, s.body, s.retryAfter);
    }
    this.opts.log.error({ err: e instanceof Error ? e.stack : String(e), tid: req.tid, method: req.method }, 'handler failed');
    return this.answer(req, 500, `${REASONS[500]}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
