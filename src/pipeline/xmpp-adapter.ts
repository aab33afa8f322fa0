// The XMPP driver as a pipeline DeviceDriver: one IQ push per sync to the gateway agent (delta from
// the applied revision; the driver falls back to the full state when the agent reports another base).
// An agent that is offline fails at once as transient, so the job backs off and the change waits in
// Redis, never in this process.
import type { XmppDriver } from '../drivers/xmpp/xmpp-driver.ts';
import type { DeviceDriver } from './device-driver.ts';

export function xmppAdapter(driver: XmppDriver): DeviceDriver {
  return {
    isolation: false,
    async apply(device, req) {
      const ack = await driver.apply(device, { base: req.base, revision: req.revision, change: req.change, config: req.desired });
      return { committed: ack.mode !== 'already' };
    },
    async read(device) {
      return (await driver.state(device)).config;
    },
  };
}
