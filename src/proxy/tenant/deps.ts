// What the tenant proxy's method handlers share; tenant-proxy.ts builds it once.
import type { NveStore } from '../../store/nve-store.ts';
import type { InventoryReader } from '../inventory-reader.ts';
import type { ProxyLog } from '../log.ts';
import type { Membership } from '../network/membership.ts';
import type { Delivery } from './delivery.ts';
import type { NetworkLinks } from './fork.ts';
import type { Registrar } from './registrar.ts';
import type { Sessions } from './sessions.ts';
import type { Transactions } from '../transport/transactions.ts';

export interface TenantDeps {
  proxyId: string;
  proc: string;
  inventory: InventoryReader;
  nves: NveStore;
  registrar: Registrar;
  sessions: Sessions;
  members: Membership;
  links: NetworkLinks;
  delivery: Delivery;
  /** The messaging layer's records (the CSeq an NVE last used in a call: INFO state tells it). */
  transactions: Transactions;
  log: ProxyLog;
  expires: { min: number; max: number; default: number };
}
