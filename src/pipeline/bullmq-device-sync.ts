// The network proxy's DeviceSyncPort on the BullMQ pipeline.
//
// request: one enqueue per device (coalesced, sync-queue.ts).
// waitApplied: Redis pub/sub on the applied channel (DeviceStateStore publishes `device revision`) and
// on the pipeline's failure channel; after subscribing, every device is judged once from Redis, so an
// event that fired before the subscription is not missed, and again on every event for it. A device
// is done when its applied revision reaches the session's; it fails the session when it refused one of
// the session's own contributions (quarantine) or when a failure nobody could be blamed for covers the
// session's revision. At the deadline: NvoError 'timeout' with the device's last error, if any.
import type { Redis } from 'ioredis';
import { NvoError } from '../errors.ts';
import type { DeviceSyncPort, SyncTarget } from '../proxy/network/device-sync-port.ts';
import type { Keys } from '../store/keys.ts';
import type { SyncEnqueuer } from './sync-queue.ts';
import { SyncRecords } from './sync-records.ts';

/** Whether a contribution owner belongs to a session: the network proxy names a session's owner
 *  `session:<call id>` (proxy/network/desired.ts ownerOf); a bare id and `<id>:part` count too. */
export function ownedBy(owner: string, sessionId: string): boolean {
  const bare = owner.startsWith('session:') ? owner.slice('session:'.length) : owner;
  return bare === sessionId || bare.startsWith(`${sessionId}:`);
}

type Listener = (device: string) => void;

export class BullmqDeviceSync implements DeviceSyncPort {
  private readonly records: SyncRecords;
  private sub: Redis | null = null;
  private subscribed: Promise<void> | null = null;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly enqueuer: SyncEnqueuer,
    private readonly ownerOf: (owner: string, sessionId: string) => boolean = ownedBy,
  ) {
    this.records = new SyncRecords(redis, k);
  }

  async request(targets: SyncTarget[], ctx: { sessionId: string }): Promise<void> {
    const devices = [...new Set(targets.map((t) => t.device))];
    await Promise.all(devices.map((d) => this.enqueuer.enqueue(d, ctx.sessionId)));
  }

  /** Drift repair now: the next sync of the device reads it back first. Returns the job id. */
  async repair(device: string, sessionId?: string): Promise<string> {
    await this.redis.sadd(this.k.syncRepair, device);
    return this.enqueuer.ensure(device, sessionId);
  }

  async waitApplied(targets: SyncTarget[], opts: { deadlineMs: number; sessionId: string }): Promise<void> {
    const want = new Map<string, number>();
    for (const t of targets) want.set(t.device, Math.max(want.get(t.device) ?? 0, t.revision));
    if (want.size === 0) return;
    await this.subscribe();
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const judging = new Map<string, Promise<void>>();
      const finish = (err?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (err) reject(err);
        else resolve();
      };
      const judge = (device: string): Promise<void> => {
        // One judgement per device at a time; an event during one re-judges after it.
        const prev = judging.get(device) ?? Promise.resolve();
        const next = prev.then(async () => {
          if (finished || !want.has(device)) return;
          const verdict = await this.verdict(device, want.get(device)!, opts.sessionId);
          if (verdict === 'done') {
            want.delete(device);
            if (want.size === 0) finish();
          } else if (verdict instanceof Error) finish(verdict);
        });
        judging.set(device, next.catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e)))));
        return next;
      };
      const listener: Listener = (device) => {
        const which = device === '*' ? [...want.keys()] : want.has(device) ? [device] : [];
        for (const d of which) void judge(d).catch(() => undefined);
      };
      const timer = setTimeout(() => void this.timeoutError(want, opts.deadlineMs).then(finish, finish), Math.max(0, opts.deadlineMs));
      this.listeners.add(listener);
      for (const d of [...want.keys()]) void judge(d).catch(() => undefined);
    });
  }

  private async verdict(device: string, revision: number, sessionId: string): Promise<'done' | 'wait' | NvoError> {
    const v = await this.records.verdictInputs(device);
    for (const [owner, r] of v.refusals) {
      if (this.ownerOf(owner, sessionId)) {
        return new NvoError('device-error', `${device}: ${r.message}`, [], { device, deviceCode: r.code, deviceMessage: r.message, ...r.details, owner });
      }
    }
    if (v.appliedRevision >= revision) return 'done';
    if (v.failure && v.failure.revision >= revision) {
      return new NvoError('device-error', `${device}: ${v.failure.message}`, [], { device, deviceCode: v.failure.code, deviceMessage: v.failure.message, ...v.failure.details });
    }
    return 'wait';
  }

  private async timeoutError(want: Map<string, number>, deadlineMs: number): Promise<NvoError> {
    const late = [...want.keys()];
    const reasons: string[] = [];
    for (const d of late) {
      const v = await this.records.verdictInputs(d).catch(() => null);
      const last = v?.lastError ? (JSON.parse(v.lastError) as { message: string }).message : null;
      if (last) reasons.push(`${d}: ${last}`);
    }
    const why = reasons.length ? ` (last error: ${reasons.join('; ')})` : '';
    return new NvoError('timeout', `${late.join(', ')} did not apply the change within ${deadlineMs} ms${why}`, [], { devices: late });
  }

  private subscribe(): Promise<void> {
    this.subscribed ??= (async () => {
      this.sub = this.redis.duplicate({ connectionName: 'nvo-sync-wait' });
      this.sub.on('message', (_channel: string, msg: string) => {
        const device = msg.slice(0, msg.lastIndexOf(' '));
        for (const l of this.listeners) l(device);
      });
      // After a reconnect ioredis resubscribes, but events in the gap are gone: judge everything again.
      this.sub.on('ready', () => {
        for (const l of this.listeners) l('*');
      });
      // A SUBSCRIBE sent during ioredis's ready check fails that check and the subscription can be
      // lost: wait until the connection is ready first.
      await this.sub.ping();
      await this.sub.subscribe(this.k.deviceApplied, this.k.deviceSyncFailed);
    })().catch((e: unknown) => {
      // Let the next wait try again rather than failing forever on a cached rejection.
      this.sub?.disconnect();
      this.sub = null;
      this.subscribed = null;
      throw e;
    });
    return this.subscribed;
  }

  async close(): Promise<void> {
    this.sub?.disconnect();
    this.sub = null;
    this.subscribed = null;
  }
}
