// The drivers a production pipeline uses, by the inventory's `driver` field: NETCONF always, XMPP
// when the controller's XMPP login is configured (NVO_XMPP_SERVICE, NVO_XMPP_JID, NVO_XMPP_PASSWORD).
// The XMPP session is opened on first use, so a worker with only NETCONF devices never logs in.
import type { Logger } from 'pino';
import { NvoError } from '../errors.ts';
import { XmppDriver } from '../drivers/xmpp/xmpp-driver.ts';
import type { Device } from '../model/device.ts';
import type { DeviceStateStore } from '../store/device-state.ts';
import type { InventoryStore } from '../store/inventory-store.ts';
import type { DeviceDriver } from './device-driver.ts';
import { DriverRegistry } from './driver-registry.ts';
import { netconfDriver } from './netconf-adapter.ts';
import { xmppAdapter } from './xmpp-adapter.ts';

export interface XmppControllerLogin {
  service: string;
  jid: string;
  password: string;
}

export function xmppLoginFromEnv(env = process.env): XmppControllerLogin | null {
  const { NVO_XMPP_SERVICE: service, NVO_XMPP_JID: jid, NVO_XMPP_PASSWORD: password } = env;
  return service && jid && password ? { service, jid, password } : null;
}

export function productionDrivers(o: { store: DeviceStateStore; inventory: InventoryStore; log: Logger; xmpp?: XmppControllerLogin | null }): {
  drivers: DriverRegistry;
  close(): Promise<void>;
} {
  const drivers = new DriverRegistry().register('netconf', netconfDriver());
  let xmpp: Promise<XmppDriver> | null = null;
  const login = o.xmpp === undefined ? xmppLoginFromEnv() : o.xmpp;
  if (login) {
    const started = () =>
      (xmpp ??= (async () => {
        const d = new XmppDriver({
          ...login,
          store: o.store,
          deviceByJid: async (bare) => (await o.inventory.list('device')).find((dev) => dev.jid?.split('/')[0]?.toLowerCase() === bare),
        });
        d.on('warning', (e: Error) => o.log.warn({ err: e.message }, 'xmpp'));
        try {
          await d.start();
        } catch (e) {
          // Try again on the next job; the server being down is a transient fault.
          xmpp = null;
          await d.stop();
          throw new NvoError('unavailable', `XMPP login to ${login.service} failed: ${e instanceof Error ? e.message : String(e)}`, [], { transient: true });
        }
        return d;
      })());
    const lazy: DeviceDriver = {
      isolation: false,
      apply: async (device: Device, req) => xmppAdapter(await started()).apply(device, req),
      read: async (device: Device) => xmppAdapter(await started()).read!(device),
    };
    drivers.register('xmpp', lazy);
  }
  return {
    drivers,
    async close() {
      if (xmpp) await (await xmpp).stop();
    },
  };
}
