// The network proxy's DeviceSyncPort on the BullMQ pipeline.
//
// request: one enqueue per device (coalesced, sync-queue.ts).
// waitApplied: Redis pub/sub on the applied channel (DeviceStateStore publishes `device revision`) and
// on the pipeline's failure channel. A device is done when its applied revision reaches the session's;
// it fails the session when it refused one of the session's own contributions (quarantine) or when a
// failure nobody could be blamed for covers the session's revision. At the deadline: NvoError
// 'timeout' with the device's last error, if any.
//
// Every session waiting on a device is judged from one shared read of that device's records: an
// event (or a new waiter) asks for a read that *starts* after it — one already running is followed by
// one more — so no event is missed, and a commit that satisfies 100 waiting sessions costs one round
// trip, not 100. A new waiter is judged by such a read too, so an event that fired before the
// subscription is not missed.
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

type Verdict = 'done' | 'wait' | NvoError;

interface Waiter {
  revision: number;
  sessionId: string;
  judged(device: string, verdict: Verdict | Error): void;
}

type VerdictInputs = Awaited<ReturnType<SyncRecords['verdictInputs']>>;

const READ_RETRY_MS = 250;

export class BullmqDeviceSync implements DeviceSyncPort {
  private readonly records: SyncRecords;
  private sub: Redis | null = null;
  private subscribed: Promise<void> | null = null;
  /** device → the sessions waiting on it */
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** device → a read is running; `again`: an event came after it started, read once more */
  private readonly reading = new Map<string, { again: boolean }>();

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
    await this.enqueuer.enqueueMany(devices, ctx.sessionId);
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
      const mine = new Map<string, Waiter>();
      const finish = (err?: Error) => {
        clearTimeout(timer);
        for (const [device, w] of mine) this.unwait(device, w);
        mine.clear();
        if (err) reject(err);
        else resolve();
      };
      const judged = (device: string, verdict: Verdict | Error) => {
        if (!mine.has(device) || verdict === 'wait') return;
        if (verdict instanceof Error) return finish(verdict);
        this.unwait(device, mine.get(device)!);
        mine.delete(device);
        want.delete(device);
        if (want.size === 0) finish();
      };
      const timer = setTimeout(() => void this.timeoutError(want, opts.deadlineMs).then(finish, finish), Math.max(0, opts.deadlineMs));
      for (const [device, revision] of want) {
        const w: Waiter = { revision, sessionId: opts.sessionId, judged };
        mine.set(device, w);
        let set = this.waiters.get(device);
        if (!set) this.waiters.set(device, (set = new Set()));
        set.add(w);
      }
      for (const device of [...want.keys()]) this.read(device);
    });
  }

  private unwait(device: string, w: Waiter): void {
    const set = this.waiters.get(device);
    set?.delete(w);
    if (set?.size === 0) this.waiters.delete(device);
  }

  /** One read of the device's records for every session waiting on it; see the header. */
  private read(device: string): void {
    const running = this.reading.get(device);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.reading.set(device, state);
    void (async () => {
      let failed = false;
      do {
        state.again = false;
        try {
          const inputs = await this.records.verdictInputs(device);
          for (const w of [...(this.waiters.get(device) ?? [])]) w.judged(device, this.verdict(device, inputs, w));
        } catch {
          // Redis did not answer: the sessions keep waiting (their deadline bounds it) and the read is
          // tried again shortly, rather than failing every session on the device at once.
          failed = true;
        }
      } while (state.again && !failed && this.waiters.has(device));
      this.reading.delete(device);
      if (failed) setTimeout(() => this.waiters.has(device) && this.read(device), READ_RETRY_MS).unref();
    })();
  }

  private verdict(device: string, v: VerdictInputs, w: Waiter): Verdict {
    for (const [owner, r] of v.refusals) {
      if (this.ownerOf(owner, w.sessionId)) {
        return new NvoError('device-error', `${device}: ${r.message}`, [], { device, deviceCode: r.code, deviceMessage: r.message, ...r.details, owner });
      }
    }
    if (v.appliedRevision >= w.revision) return 'done';
    if (v.failure && v.failure.revision >= w.revision) {
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
        if (this.waiters.has(device)) this.read(device);
      });
      // After a reconnect ioredis resubscribes, but events in the gap are gone: judge everything again.
      this.sub.on('ready', () => {
        for (const device of [...this.waiters.keys()]) this.read(device);
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
