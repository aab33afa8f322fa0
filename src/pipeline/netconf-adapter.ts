// The NETCONF driver as a pipeline DeviceDriver: lock, edit, confirmed commit, read back, confirm,
// unlock (src/drivers/netconf/apply.ts) on a session kept open per device between syncs (pool below).
// The confirm timeout is what makes a worker's death harmless: the device rolls an unconfirmed commit
// back by itself (and at once when the session drops), and the next sync, reading `applied` from
// Redis, sends it again.
import { applyDeviceChange, type ApplyOptions } from '../drivers/netconf/apply.ts';
import { getRunning, sessionOptions } from '../drivers/netconf/device-ops.ts';
import { notRenderedKinds } from '../drivers/netconf/dialects/dialect.ts';
import { getDialect } from '../drivers/netconf/dialects/registry.ts';
import { closeSession } from '../drivers/netconf/operations.ts';
import { NetconfSession, type SessionOptions } from '../drivers/netconf/rpc.ts';
import { invalid } from '../errors.ts';
import type { Device } from '../model/device.ts';
import type { DeviceDriver } from './device-driver.ts';

export interface NetconfAdapterOptions {
  confirmTimeoutS?: number;
  session?: Partial<SessionOptions>;
  /** Progress of each apply (tests pause here to kill a worker between commit and confirm). */
  onStage?: ApplyOptions['onStage'];
  /** An idle device session is closed after this; 0 opens a session per sync. Default 30 s. */
  idleMs?: number;
}

// Opening a session (TCP, SSH key exchange and login, hello) cost ~45–130 ms and the CPU of a key
// exchange on both ends for every sync; a device's syncs run one at a time (the device lease), so one
// idle session per device is enough. A session that failed in any way is closed, never reused.
class SessionPool {
  private readonly idle = new Map<string, { s: NetconfSession; key: string; timer: NodeJS.Timeout }>();

  constructor(private readonly idleMs: number) {}

  async use<T>(device: Device, extra: Partial<SessionOptions> | undefined, fn: (s: NetconfSession) => Promise<T>): Promise<T> {
    const opts = sessionOptions(device, extra);
    const key = JSON.stringify(opts); // an inventory edit (address, login, key) means a new session
    const parked = this.idle.get(device.id);
    this.idle.delete(device.id);
    if (parked) clearTimeout(parked.timer);
    let s = parked && parked.key === key && parked.s.isOpen ? parked.s : null;
    if (parked && !s) await closeSession(parked.s).catch(() => undefined);
    s ??= await NetconfSession.open(opts);
    let ok = false;
    try {
      const r = await fn(s);
      ok = true;
      return r;
    } finally {
      if (ok && s.isOpen && this.idleMs > 0 && !this.idle.has(device.id)) {
        const timer = setTimeout(() => this.drop(device.id), this.idleMs);
        timer.unref();
        this.idle.set(device.id, { s, key, timer });
      } else await closeSession(s).catch(() => undefined);
    }
  }

  private drop(id: string): void {
    const e = this.idle.get(id);
    if (!e) return;
    this.idle.delete(id);
    void closeSession(e.s).catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.idle.values()];
    this.idle.clear();
    for (const e of all) clearTimeout(e.timer);
    await Promise.all(all.map((e) => closeSession(e.s).catch(() => undefined)));
  }
}

export function netconfDriver(o: NetconfAdapterOptions = {}): DeviceDriver & { close(): Promise<void> } {
  const pool = new SessionPool(o.idleMs ?? 30_000);
  return {
    async apply(device, req) {
      if (!device.dialect) throw invalid('dialect', `device ${device.id} has no dialect`);
      const dialect = getDialect(device.dialect);
      const opts: ApplyOptions = { dialect, device: { id: device.id, vtep: device.vtep }, confirmTimeoutS: o.confirmTimeoutS ?? 60, readBack: 'change', ...(o.onStage ? { onStage: o.onStage } : {}) };
      await pool.use(device, o.session, (s) => applyDeviceChange(s, req.change, opts));
      return { committed: true };
    },
    async read(device) {
      return (await getRunning(device, o.session)).config;
    },
    ignoredKinds(device) {
      return device.dialect ? notRenderedKinds(getDialect(device.dialect)) : [];
    },
    close: () => pool.close(),
  };
}
