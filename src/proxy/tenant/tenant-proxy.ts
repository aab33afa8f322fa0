// The tenant proxy (server operations' domain), composed. The order of the pipeline is the
// server's (ws-server.ts); here the methods are wired, and the reaper that ends the sessions of NVEs
// whose registration expired more than `graceMs` ago. Several processes may run this on one Redis.
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import { NveStore } from '../../store/nve-store.ts';
import { Authenticator } from '../auth/authenticator.ts';
import type { InventoryReader } from '../inventory-reader.ts';
import { proxyLog, type ProxyLog } from '../log.ts';
import { Membership } from '../network/membership.ts';
import { Transactions } from '../transport/transactions.ts';
import { ProtocolServer } from '../transport/ws-server.ts';
import { byeHandler, cancelHandler, endSession } from './bye.ts';
import { CallOrder } from './call-order.ts';
import { Delivery } from './delivery.ts';
import type { TenantDeps } from './deps.ts';
import { NetworkLinks, type NetworkProxyConfig } from './fork.ts';
import { infoHandler, recordAcks } from './info.ts';
import { inviteHandler, requireRegistered } from './invite.ts';
import { ReferCoordinator } from './refer.ts';
import { registerHandler } from './register.ts';
import { Registrar } from './registrar.ts';
import { Sessions } from './sessions.ts';

export interface TenantProxyOptions {
  id: string;
  redis: Redis;
  /** A second connection for pub/sub (a subscribed ioredis connection can do nothing else). */
  subscriber: Redis;
  k: Keys;
  inventory: InventoryReader;
  networkProxies: NetworkProxyConfig[];
  port?: number;
  host?: string;
  server?: HttpServer;
  maxBytes?: number;
  /** 408 when a network proxy or a pushed-to NVE does not answer within this. */
  branchTimeoutMs?: number;
  expires?: { min: number; max: number; default: number };
  graceMs?: number;
  reapIntervalMs?: number;
  /** A REFER's runner renews its lease this often (a third of it); the sweep that recovers the moves
   *  of dead runners runs at start and every `referSweepMs`. */
  referLeaseMs?: number;
  referSweepMs?: number;
  log?: ProxyLog;
}

export class TenantProxy {
  readonly server: ProtocolServer;
  readonly deps: TenantDeps;
  readonly refer: ReferCoordinator;
  private reaper: NodeJS.Timeout | null = null;
  private referSweeper: NodeJS.Timeout | null = null;
  private referSub: Redis | null = null;

  constructor(readonly opts: TenantProxyOptions) {
    const log = opts.log ?? proxyLog(`tenant-proxy:${opts.id}`);
    const proc = `${opts.id}:${randomUUID()}`;
    const nves = new NveStore(opts.redis, opts.k, opts.inventory);
    const registrar = new Registrar(opts.redis, opts.k);
    const handlers = {} as ConstructorParameters<typeof ProtocolServer>[0]['handlers'];
    const transactions = new Transactions(opts.redis, opts.k, `tp-${opts.id}`);
    this.server = new ProtocolServer({
      port: opts.port,
      host: opts.host,
      server: opts.server,
      maxBytes: opts.maxBytes,
      authenticator: new Authenticator(opts.redis, opts.k, (nve) => nves.secretOf(nve), log, `tenant-proxy:${opts.id}`),
      transactions,
      log,
      handlers,
      pushTimeoutMs: opts.branchTimeoutMs,
    });
    this.deps = {
      proxyId: opts.id,
      proc,
      inventory: opts.inventory,
      nves,
      registrar,
      sessions: new Sessions(opts.redis, opts.k),
      members: new Membership(opts.redis, opts.k),
      // Each process signs towards network proxies as itself (`<id>:<uuid>`): a network proxy orders
      // CSeq per sender and call (RFC 3261 §12.2.2), and a process that ends another process's session
      // (after a crash, or a restart) must not be refused for starting its count at 1 again.
      links: new NetworkLinks(proc, opts.networkProxies, opts.branchTimeoutMs ?? 60_000, log),
      delivery: new Delivery(opts.redis, opts.subscriber, opts.k, proc, opts.id, registrar, this.server, log),
      transactions,
      log,
      expires: opts.expires ?? { min: 5, max: 86_400, default: 3600 },
    };
    const d = this.deps;
    d.delivery.onAnswer = recordAcks(d);
    // BYE and INFO mac change a session's MAC table: one at a time per call, in CSeq order; REFER's
    // transfer of a session takes the same per-call lease. The other INFO packages (state, ack,
    // refer-ack) change no table and go unordered: an ack, the busiest message of a fan-out, would
    // otherwise pay two Redis calls and leave an order record for a day.
    const order = new CallOrder(opts.redis, opts.k);
    this.refer = new ReferCoordinator(d, opts.redis, opts.k, { order, leaseMs: opts.referLeaseMs, holdAt: process.env.NVO_TEST_REFER_HOLD || undefined });
    // The order below is the order of the protocol document's method list.
    Object.assign(handlers, {
      REGISTER: registerHandler(d),
      INVITE: inviteHandler(d),
      BYE: order.wrap(byeHandler(d)),
      CANCEL: cancelHandler(d),
      INFO: infoHandler(d, this.refer.ackHandler(), order),
      REFER: this.refer.handler(),
      OPTIONS: async (ctx: { identity: string }) => {
        await requireRegistered(d, ctx.identity);
        return { status: 200, body: { proxy: opts.id, methods: Object.keys(handlers) } };
      },
    });
  }

  async start(): Promise<number> {
    await this.deps.delivery.start();
    this.referSub = this.opts.subscriber.duplicate();
    // Ready first: a SUBSCRIBE during ioredis's ready check fails it and the subscription can be lost.
    await this.referSub.ping();
    await this.refer.listen(this.referSub);
    const interval = this.opts.reapIntervalMs ?? 1000;
    this.reaper = setInterval(() => void this.reap().catch((e: unknown) => this.deps.log.error({ err: String(e) }, 'reaper failed')), interval);
    // Moves whose tenant proxy died mid-way (refer.ts): at start, then periodically.
    const sweep = () => void this.refer.sweep().catch((e: unknown) => this.deps.log.error({ err: String(e) }, 'REFER sweep failed'));
    sweep();
    this.referSweeper = setInterval(sweep, this.opts.referSweepMs ?? 5000);
    this.referSweeper.unref();
    return this.server.listening();
  }

  /** Ends the sessions of NVEs whose registration ended more than the grace period ago. */
  async reap(): Promise<string[]> {
    const gone = await this.deps.registrar.claimExpired(this.opts.graceMs ?? 30_000);
    for (const nve of gone) {
      for (const callId of await this.deps.sessions.ofNve(nve)) {
        const s = await this.deps.sessions.get(callId);
        if (s) await endSession(this.deps, s);
      }
      this.deps.log.info({ nve }, 'registration expired: sessions ended');
    }
    return gone;
  }

  async close(): Promise<void> {
    if (this.reaper) clearInterval(this.reaper);
    if (this.referSweeper) clearInterval(this.referSweeper);
    await this.deps.delivery.stop();
    this.referSub?.disconnect();
    await this.deps.links.close();
    await this.server.close();
  }
}
