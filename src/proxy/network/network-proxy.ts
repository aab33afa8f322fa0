// The network proxy (network operations' domain), composed: a protocol server that only tenant
// proxies holding the shared secret may use, with INVITE, BYE, CANCEL and OPTIONS.
import type { Server as HttpServer } from 'node:http';
import type { Redis } from 'ioredis';
import { Allocator } from '../../alloc/allocator.ts';
import { DeviceStateStore } from '../../store/device-state.ts';
import type { Keys } from '../../store/keys.ts';
import { Authenticator } from '../auth/authenticator.ts';
import type { InventoryReader } from '../inventory-reader.ts';
import { proxyLog, type ProxyLog } from '../log.ts';
import { Transactions } from '../transport/transactions.ts';
import { ProtocolServer } from '../transport/ws-server.ts';
import { sweepOrphans } from './branch.ts';
import { byeHandler, cancelHandler } from './bye.ts';
import type { DeviceSyncPort } from './device-sync-port.ts';
import { inviteHandler, type NetworkDeps } from './invite.ts';
import { infoHandler } from './mac-info.ts';
import { Membership } from './membership.ts';
import { referHandler } from './refer.ts';

export interface NetworkProxyOptions {
  id: string;
  /** Shared with the tenant proxies that may fork to this one. */
  secret: string;
  redis: Redis;
  k: Keys;
  inventory: InventoryReader;
  sync: DeviceSyncPort;
  /** Devices this proxy configures (default: all). */
  devices?: string[];
  port?: number;
  host?: string;
  server?: HttpServer;
  syncDeadlineMs?: number;
  /** How often to look for INVITEs whose process died mid-way, and undo them (0: never). */
  sweepIntervalMs?: number;
  log?: ProxyLog;
  /** Test hook (branch.ts); default from NVO_TEST_UNDO_PAUSE_MS. */
  undoPauseMs?: number;
}

export class NetworkProxy {
  readonly server: ProtocolServer;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(readonly opts: NetworkProxyOptions) {
    const log = opts.log ?? proxyLog(`network-proxy:${opts.id}`);
    const deps: NetworkDeps = {
      redis: opts.redis,
      k: opts.k,
      proxyId: opts.id,
      alloc: new Allocator(opts.redis, opts.k),
      state: new DeviceStateStore(opts.redis, opts.k),
      members: new Membership(opts.redis, opts.k),
      sync: opts.sync,
      syncDeadlineMs: opts.syncDeadlineMs ?? 30_000,
      inventory: opts.inventory,
      responsibleFor: opts.devices ? new Set(opts.devices) : null,
      undoPauseMs: opts.undoPauseMs ?? (Number(process.env.NVO_TEST_UNDO_PAUSE_MS) || undefined),
    };
    this.server = new ProtocolServer({
      port: opts.port,
      host: opts.host,
      server: opts.server,
      authenticator: new Authenticator(opts.redis, opts.k, async () => opts.secret, log, `network-proxy:${opts.id}`),
      transactions: new Transactions(opts.redis, opts.k, `np-${opts.id}`),
      log,
      handlers: {
        INVITE: inviteHandler(deps),
        BYE: byeHandler(deps),
        CANCEL: cancelHandler(deps),
        INFO: infoHandler(deps),
        REFER: referHandler(deps),
        OPTIONS: async () => ({ status: 200, body: { proxy: opts.id, methods: ['INVITE', 'BYE', 'CANCEL', 'INFO', 'REFER', 'OPTIONS'] } }),
      },
    });
    const every = opts.sweepIntervalMs ?? 5000;
    if (every > 0) {
      let running = false;
      this.sweeper = setInterval(() => {
        if (running) return;
        running = true;
        sweepOrphans(deps)
          .then((undone) => undone.forEach((callId) => log.warn({ callId }, 'undid an INVITE whose process died')))
          .catch((e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'orphan sweep failed'))
          .finally(() => (running = false));
      }, every);
      this.sweeper.unref();
    }
  }

  listening(): Promise<number> {
    return this.server.listening();
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    return this.server.close();
  }
}
