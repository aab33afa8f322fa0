// What a node's forwarding state is made of, behind one small interface: the gateway agent (and later
// the hNVE agent) drive it; the recorder keeps it in memory for tests, a Linux implementation turns it
// into bridges, VXLAN devices and fdb entries. Every operation is idempotent, so a retried push or a
// resync after a reconnect never leaves an entry twice.
import type { DeviceChange, DeviceConfig } from '../model/device-config.ts';

export interface DataPlaneContext {
  /** The device revision this operation brings the node to, when the caller has one (for logs and audits). */
  revision?: number;
}

export interface DataPlane {
  /** Creates or overwrites `change.merge` entries and removes `change.remove` ones (absent ones are no error). */
  apply(change: DeviceChange, ctx?: DataPlaneContext): Promise<void>;
  /** What the node has now, in the vendor-neutral form. */
  read(): Promise<DeviceConfig>;
  /** Makes the node have exactly `config`; returns the change that was needed (empty when already there). */
  reconcile(config: DeviceConfig, ctx?: DataPlaneContext): Promise<DeviceChange>;
  close?(): Promise<void>;
}
