// The seam between the network proxy and whatever brings devices to their desired state. The proxy
// writes desired state (DeviceStateStore contributions), then hands the changed revisions here; the
// BullMQ pipeline (issue 6) implements it with one sync job per device, tests use memory-device-sync.ts.

export interface SyncTarget {
  device: string;
  revision: number;
}

export interface DeviceSyncPort {
  /** The desired state of these devices changed (revisions from DeviceStateStore.setContribution): bring them there. */
  request(targets: SyncTarget[], ctx: { sessionId: string }): Promise<void>;
  /** Resolves when every device has applied ≥ its revision; rejects with an NvoError carrying the device's own words
   *  when a device fails permanently, or code 'timeout' (→ 504) at the deadline. */
  waitApplied(targets: SyncTarget[], opts: { deadlineMs: number; sessionId: string }): Promise<void>;
}
