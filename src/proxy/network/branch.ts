// What one network proxy did for one session, kept in Redis before anything is acquired, so BYE,
// CANCEL and a failed INVITE undo exactly that — whichever process of the proxy handles them.
import type { Redis } from 'ioredis';
import type { Allocator } from '../../alloc/allocator.ts';
import type { DeviceStateStore } from '../../store/device-state.ts';
import type { Keys } from '../../store/keys.ts';
import type { DeviceSyncPort, SyncTarget } from './device-sync-port.ts';
import { ownerOf } from './desired.ts';
import type { Membership } from './membership.ts';

export interface BranchRecord {
  callId: string;
  cid: string;
  pod: string;
  mac: string;
  devices: string[];
  group: { device: string; pool: string[] } | null;
  answer?: Record<string, unknown>;
}

export interface BranchDeps {
  redis: Redis;
  k: Keys;
  proxyId: string;
  alloc: Allocator;
  state: DeviceStateStore;
  members: Membership;
  sync: DeviceSyncPort;
  syncDeadlineMs: number;
}

export async function loadBranch(d: BranchDeps, callId: string): Promise<BranchRecord | null> {
  const raw = await d.redis.get(d.k.branch(d.proxyId, callId));
  return raw ? (JSON.parse(raw) as BranchRecord) : null;
}

export async function saveBranch(d: BranchDeps, b: BranchRecord): Promise<void> {
  await d.redis.set(d.k.branch(d.proxyId, b.callId), JSON.stringify(b));
}

/** Takes the session's fragments off its devices, lets go of its allocations and its MAC; returns the devices' new revisions. */
export async function undoBranch(d: BranchDeps, b: BranchRecord): Promise<{ targets: SyncTarget[]; synced: boolean; error?: string }> {
  const owner = ownerOf(b.callId);
  const targets: SyncTarget[] = [];
  for (const device of b.devices) targets.push({ device, revision: await d.state.setContribution(device, owner, null) });
  await d.members.remove(b.cid, b.mac, b.callId);
  await d.alloc.releaseVlan({ cid: b.cid, pod: b.pod, user: owner });
  if (b.group) await d.alloc.releaseGroup({ cid: b.cid, device: b.group.device, user: owner, pool: b.group.pool });
  await d.redis.del(d.k.branch(d.proxyId, b.callId));
  try {
    await d.sync.request(targets, { sessionId: b.callId });
    await d.sync.waitApplied(targets, { deadlineMs: d.syncDeadlineMs, sessionId: b.callId });
    return { targets, synced: true };
  } catch (e) {
    return { targets, synced: false, error: e instanceof Error ? e.message : String(e) };
  }
}
