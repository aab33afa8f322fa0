// The NETCONF driver as a pipeline DeviceDriver: one session per sync (open, lock, edit, confirmed
// commit, read back, confirm, unlock, close — src/drivers/netconf/apply.ts). The confirm timeout is
// what makes a worker's death harmless: the device rolls an unconfirmed commit back by itself (and at
// once when the session drops), and the next sync, reading `applied` from Redis, sends it again.
import type { ApplyOptions } from '../drivers/netconf/apply.ts';
import { applyToDevice, getRunning } from '../drivers/netconf/device-ops.ts';
import { notRenderedKinds } from '../drivers/netconf/dialects/dialect.ts';
import { getDialect } from '../drivers/netconf/dialects/registry.ts';
import type { SessionOptions } from '../drivers/netconf/rpc.ts';
import type { DeviceDriver } from './device-driver.ts';

export interface NetconfAdapterOptions {
  confirmTimeoutS?: number;
  session?: Partial<SessionOptions>;
  /** Progress of each apply (tests pause here to kill a worker between commit and confirm). */
  onStage?: ApplyOptions['onStage'];
}

export function netconfDriver(o: NetconfAdapterOptions = {}): DeviceDriver {
  return {
    async apply(device, req) {
      await applyToDevice(device, req.change, { confirmTimeoutS: o.confirmTimeoutS ?? 60, ...(o.onStage ? { onStage: o.onStage } : {}) }, o.session);
      return { committed: true };
    },
    async read(device) {
      return (await getRunning(device, o.session)).config;
    },
    ignoredKinds(device) {
      return device.dialect ? notRenderedKinds(getDialect(device.dialect)) : [];
    },
  };
}
