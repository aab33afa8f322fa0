// A ToR in the nvo3-lab dialect on one of the test's netconfd instances, as the inventory holds it.
import { managementOf, type NetconfInstance } from '../../lab/netconf-server.ts';
import { deviceSchema, type Device } from '../../src/model/device.ts';

export function labTor(id: string, n: NetconfInstance, vtep: string): Device {
  return deviceSchema.parse({ id, role: 'tor', driver: 'netconf', dialect: 'nvo3-lab', vtep, management: managementOf(n) });
}
