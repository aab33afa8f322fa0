// What the proxies read from the inventory. InventoryStore (src/store/inventory-store.ts) fits it;
// the proxies depend on this much only.
import type { CidMapping } from '../model/cid-mapping.ts';
import type { Device } from '../model/device.ts';
import type { Pod } from '../model/pod.ts';
import type { Settings } from '../model/settings.ts';
import type { Tenant } from '../model/tenant.ts';

export interface InventoryReader {
  getTenant(cid: string): Promise<Tenant | null>;
  getDevice(id: string): Promise<Device | null>;
  getPod(id: string): Promise<Pod | null>;
  getMapping(cid: string): Promise<CidMapping | null>;
  getSettings(): Promise<Settings>;
}
