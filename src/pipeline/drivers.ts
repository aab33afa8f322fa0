// The drivers a production pipeline uses, by the inventory's `driver` field: NETCONF always, XMPP
// when the controller's XMPP login is configured (NVO_XMPP_SERVICE, NVO_XMPP_JID, NVO_XMPP_PASSWORD).
// With `eager` (a process that runs workers) the XMPP session opens at start and keeps trying until it
// is up: a gateway agent that restarts announces its revision to the controller, and only a
// logged-in controller hears that and resyncs it, whether or not a job is pending. Otherwise the
// session opens on first use.
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

export function productionDrivers(o: { store: DeviceStateStore; inventory: InventoryStore; log: Logger; xmpp?: XmppControllerLogin | null; eager?: boolean }): {
  drivers: DriverRegistry;
  close(): Promise<void>;
} {
  const netconf = netconfDriver();
  const drivers = new DriverRegistry().register('netconf', netconf);
  let xmpp: Promise<XmppDriver> | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closed = false;
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
    const connectSoon = () => {
      if (closed) return;
      started().catch((e: unknown) => {
        o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'xmpp login failed; trying again in 5 s');
        retry = setTimeout(connectSoon, 5000);
        retry.unref();
      });
    };
    if (o.eager) connectSoon();
  }
  return {
    drivers,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await netconf.close();
      if (xmpp) await (await xmpp.catch(() => null))?.stop();
    },
  };
}
