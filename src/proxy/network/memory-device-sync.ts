// The device-sync port without devices: "applying" records applied = desired in the DeviceStateStore.
// Used by the proxies' tests, `bench:invite` and `nvo network-proxy` with `sync: memory`; the BullMQ
// pipeline replaces it in production. Tests can make a device fail for good (with the words a
// device would say) or hang.
//
// Like the pipeline, it coalesces: one apply per device at a time, and every request that arrives
// meanwhile is covered by the next one, which reads the desired state as it is then. Reading the
// desired state is a union of every session's fragment, so doing it once per request made 100
// sessions in flight cost 100 unions each (bench:invite, README). Waiting is event-driven: waiters
// hear of each apply this process makes at once, and read Redis only once, when they start, for
// revisions another process applied.
import { EventEmitter } from 'node:events';
import { NvoError } from '../../errors.ts';
import type { DeviceConfig } from '../../model/device-config.ts';
import type { DeviceStateStore } from '../../store/device-state.ts';
import type { DeviceSyncPort, SyncTarget } from './device-sync-port.ts';

export class MemoryDeviceSync implements DeviceSyncPort {
  private readonly failing = new Map<string, string>();
  private readonly hanging = new Set<string>();
  /** Per device: the highest revision asked for, the highest known applied, and the apply loop if one runs. */
  private readonly wanted = new Map<string, number>();
  private readonly applied = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly events = new EventEmitter().setMaxListeners(0);
  /** Every request, in order: tests read which devices a session touched. */
  readonly requests: { targets: SyncTarget[]; sessionId: string }[] = [];
  /** How many times a desired state was read and recorded applied: fewer than requests when coalesced. */
  applies = 0;
  /** After keepHistory(): every configuration recorded applied, in order (tests replay what a device went through). */
  readonly history: { device: string; revision: number; config: DeviceConfig }[] = [];
  private keeping = false;

  constructor(private readonly state: DeviceStateStore) {}

  /** From now on the device refuses every change with this message (an rpc-error's error-message). */
  fail(device: string, message: string): void {
    this.failing.set(device, message);
  }

  /** From now on the device never finishes applying. */
  hang(device: string): void {
    this.hanging.add(device);
  }

  /** Off by default: a benchmark's thousands of applies would keep every configuration. */
  keepHistory(): this {
    this.keeping = true;
    return this;
  }

  heal(device: string): void {
    this.failing.delete(device);
    this.hanging.delete(device);
  }

  async request(targets: SyncTarget[], ctx: { sessionId: string }): Promise<void> {
    this.requests.push({ targets, sessionId: ctx.sessionId });
    const loops: Promise<void>[] = [];
    for (const t of targets) {
      const reason = this.failing.get(t.device);
      if (reason !== undefined) {
        await this.state.recordError(t.device, { code: 'device-error', message: reason });
        continue;
      }
      if (this.hanging.has(t.device)) continue;
      this.wanted.set(t.device, Math.max(this.wanted.get(t.device) ?? 0, t.revision));
      loops.push(this.kick(t.device));
    }
    await Promise.all(loops);
  }

  /** Starts the device's apply loop unless one runs; the running one picks the new revision up. */
  private kick(device: string): Promise<void> {
    const cur = this.running.get(device);
    if (cur) return cur;
    // Deferred by a tick, so the loop is registered before it can finish (and unregister itself).
    const loop = Promise.resolve().then(() => this.applyLoop(device));
    this.running.set(device, loop);
    return loop;
  }

  private async applyLoop(device: string): Promise<void> {
    try {
      while ((this.applied.get(device) ?? 0) < (this.wanted.get(device) ?? 0) && !this.hanging.has(device) && !this.failing.has(device)) {
        const desired = await this.state.desired(device);
        this.applies++;
        const recorded = await this.state.recordApplied(device, desired.revision, desired.config, { committed: true });
        if (recorded && this.keeping) this.history.push({ device, revision: desired.revision, config: desired.config });
        // Not recorded: another process applied an equal or newer revision; take the store's word for it.
        const now = recorded ? desired.revision : await this.state.appliedRevision(device);
        this.noteApplied(device, now);
        if (now < desired.revision) break;
      }
    } finally {
      // In the same step as the last look at `wanted`: a request that still finds this loop running
      // was seen by that look. (Unregistering a microtask later let requests join a loop that had
      // already decided to stop, and their INVITEs ended in 504.)
      this.running.delete(device);
    }
  }

  private noteApplied(device: string, revision: number): void {
    if (revision <= (this.applied.get(device) ?? 0)) return;
    this.applied.set(device, revision);
    this.events.emit('applied', device);
  }

  async waitApplied(targets: SyncTarget[], opts: { deadlineMs: number; sessionId: string }): Promise<void> {
    for (const t of targets) {
      const reason = this.failing.get(t.device);
      if (reason !== undefined) {
        throw new NvoError('device-error', `${t.device}: ${reason}`, [], { device: t.device, deviceMessage: reason });
      }
    }
    const want = new Map<string, number>();
    for (const t of targets) want.set(t.device, Math.max(want.get(t.device) ?? 0, t.revision));
    // Once from Redis: a revision another process (or an earlier run) applied counts too.
    for (const d of want.keys()) this.noteApplied(d, await this.state.appliedRevision(d));
    const late = () => [...want].filter(([d, rev]) => (this.applied.get(d) ?? 0) < rev).map(([d]) => d);
    if (late().length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const onApplied = (device: string) => {
        if (!want.has(device) || late().length > 0) return;
        clearTimeout(timer);
        this.events.off('applied', onApplied);
        resolve();
      };
      const timer = setTimeout(() => {
        this.events.off('applied', onApplied);
        const l = late();
        reject(new NvoError('timeout', `${l.join(', ')} did not apply the change within ${opts.deadlineMs} ms`, [], { devices: l }));
      }, Math.max(1, opts.deadlineMs));
      this.events.on('applied', onApplied);
    });
  }
}
