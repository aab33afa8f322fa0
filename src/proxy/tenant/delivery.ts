// Requests the tenant proxy pushes to NVEs (NOTIFY) reach the NVE wherever it is connected: locally
// on this process's socket, or through Redis pub/sub to the process its registration names.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import type { ProxyLog } from '../log.ts';
import type { Request, Response } from '../protocol/messages.ts';
import type { ProtocolServer } from '../transport/ws-server.ts';
import type { Registrar } from './registrar.ts';

export class Delivery {
  private seq = 0;
  /** Told every answer an NVE gives to a push made from this process (acknowledged revisions). */
  onAnswer: ((req: Request, res: Response) => Promise<void> | void) | null = null;

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly k: Keys,
    readonly proc: string,
    private readonly proxyId: string,
    private readonly registrar: Registrar,
    private readonly server: ProtocolServer,
    private readonly log: ProxyLog,
  ) {}

  async start(): Promise<void> {
    await this.sub.subscribe(this.k.msgDeliver(this.proc));
    this.sub.on('message', (_channel, raw: string) => void this.local(JSON.parse(raw) as Request));
  }

  async stop(): Promise<void> {
    await this.sub.unsubscribe(this.k.msgDeliver(this.proc)).catch(() => undefined);
  }

  /** Sends a request to an NVE if it is registered; does not wait for its answer. */
  async push(nve: string, method: 'NOTIFY', callId: string, body: Record<string, unknown>): Promise<boolean> {
    const reg = await this.registrar.get(nve);
    if (!reg) return false;
    const req: Request = { method, tid: randomUUID(), cseq: ++this.seq, callId, from: this.proxyId, to: nve, body };
    if (reg.proc === this.proc) void this.local(req);
    else await this.pub.publish(this.k.msgDeliver(reg.proc), JSON.stringify(req));
    return true;
  }

  private async local(req: Request): Promise<void> {
    const conn = this.server.connectionOf(req.to);
    if (!conn) return this.log.warn({ nve: req.to, method: req.method }, 'push for an NVE not connected here');
    const res = await conn.request(req);
    await Promise.resolve(this.onAnswer?.(req, res)).catch((e: unknown) => this.log.warn({ err: String(e) }, 'answer hook failed'));
    if (res.status >= 300) this.log.warn({ nve: req.to, method: req.method, status: res.status, reason: res.reason }, 'NVE refused a pushed request');
  }
}
