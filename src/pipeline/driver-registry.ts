// Which DeviceDriver serves a device: by the inventory's `driver` field. The pipeline composes it
// (pipeline.ts) with the NETCONF and XMPP adapters; tests register the simulated device.
import type { Device, DriverName } from '../model/device.ts';
import { NvoError } from '../errors.ts';
import type { DeviceDriver } from './device-driver.ts';

export class DriverRegistry {
  private readonly drivers = new Map<string, DeviceDriver>();

  register(name: DriverName | string, driver: DeviceDriver): this {
    this.drivers.set(name, driver);
    return this;
  }

  for(device: Device): DeviceDriver {
    const d = this.drivers.get(device.driver);
    if (!d) {
      throw new NvoError('internal', `device ${device.id}: driver '${device.driver}' is not available in this process (have: ${[...this.drivers.keys()].join(', ') || 'none'})`, [], {
        device: device.id,
        driver: device.driver,
      });
    }
    return d;
  }
}
