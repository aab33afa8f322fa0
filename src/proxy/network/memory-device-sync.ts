// The device-sync port without devices: "applying" records applied = desired in the DeviceStateStore
// at once. Used by the proxies' tests and `bench:invite`; the BullMQ pipeline replaces it in
// production. Tests can make a device fail for good (with the words a device would say) or hang.
import { NvoError } from '../../errors.ts';
import type { DeviceStateStore } from '../../store/device-state.ts';
import type { DeviceSyncPort, SyncTarget } from './device-sync-port.ts';

export class MemoryDeviceSync implements DeviceSyncPort {
  private readonly failing = new Map<string, string>();
  private readonly hanging = new Set<string>();
  /** Every request, in order: tests read which devices a session touched. */
  readonly requests: { targets: SyncTarget[]; sessionId: string }[] = [];

  constructor(private readonly state: DeviceStateStore) {}

  /** From now on the device refuses every change with this message (an rpc-error's error-message). */
  fail(device: string, message: string): void {
    this.failing.set(device, message);
  }

  /** From now on the device never finishes applying. */
  hang(device: string): void {
    this.hanging.add(device);
  }

  heal(device: string): void {
    this.failing.delete(device);
    this.hanging.delete(device);
  }

  async request(targets: SyncTarget[], ctx: { sessionId: string }): Promise<void> {
    this.requests.push({ targets, sessionId: ctx.sessionId });
    for (const t of targets) {
      const reason = this.failing.get(t.device);
      if (reason !== undefined) {
        await this.state.recordError(t.device, { code: 'device-error', message: reason });
        continue;
      }
      if (this.hanging.has(t.device)) continue;
      // Coalesce like the pipeline does: take whatever is desired now, which covers this revision and any later one.
      const desired = await this.state.desired(t.device);
      await this.state.recordApplied(t.device, desired.revision, desired.config, { committed: true });
    }
  }

  async waitApplied(targets: SyncTarget[], opts: { deadlineMs: number; sessionId: string }): Promise<void> {
    const until = Date.now() + opts.deadlineMs;
    for (const t of targets) {
      const reason = this.failing.get(t.device);
      if (reason !== undefined) {
        throw new NvoError('device-error', `${t.device}: ${reason}`, [], { device: t.device, deviceMessage: reason });
      }
    }
    for (;;) {
      const late: string[] = [];
      for (const t of targets) {
        if ((await this.state.applied(t.device)).revision < t.revision) late.push(t.device);
      }
      if (late.length === 0) return;
      if (Date.now() >= until) {
        throw new NvoError('timeout', `${late.join(', ')} did not apply the change within ${opts.deadlineMs} ms`, [], { devices: late });
      }
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, until - Date.now()))));
    }
  }
}
