// What an hNVE needs beyond a gateway's data plane: its VMs' ports. A VM's port (the hypervisor end
// of its veth or tap) joins the segment of the VNI the VM was INVITEd into, and leaves on BYE.
// Ports are made by the hypervisor, not by nvo: attaching and detaching never creates or deletes one.
import type { DataPlane } from './data-plane.ts';

export interface PortEntry {
  /** The hypervisor-side interface of the VM, e.g. its veth end. */
  port: string;
  vni: number;
}

export interface HnveDataPlane extends DataPlane {
  /** Puts the port into the VNI's segment (moving it from another one); idempotent. The VNI must be configured. */
  attachPort(entry: PortEntry): Promise<void>;
  /** Takes the port out of whatever nvo segment it is in; a port that is not in one, or is gone, is no error. */
  detachPort(port: string): Promise<void>;
  /** Ports that sit in nvo segments now. */
  readPorts(): Promise<PortEntry[]>;
}
