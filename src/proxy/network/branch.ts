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
  /** Test hook (NVO_TEST_UNDO_PAUSE_MS): an undo waits this long between taking the session's
   *  contributions off and letting go of its MAC and allocations, so a test can look in between. */
  undoPauseMs?: number;
}

export async function loadBranch(d: BranchDeps, callId: string): Promise<BranchRecord | null> {
  const raw = await d.redis.get(d.k.branch(d.proxyId, callId));
  return raw ? (JSON.parse(raw) as BranchRecord) : null;
}

export async function saveBranch(d: BranchDeps, b: BranchRecord): Promise<void> {
  const tx = d.redis.multi().set(d.k.branch(d.proxyId, b.callId), JSON.stringify(b));
  if (b.answer) tx.zrem(d.k.branchPending(d.proxyId), b.callId);
  else tx.zadd(d.k.branchPending(d.proxyId), Date.now(), b.callId);
  await tx.exec();
}

// An INVITE holds a lease while it runs. A process killed mid-INVITE stops renewing it, and its
// unanswered branch becomes an orphan that CANCEL or the sweep undoes — nobody else would.
export const LIVE_TTL_MS = 15_000;

export async function holdLive(d: BranchDeps, callId: string): Promise<() => Promise<void>> {
  const key = d.k.branchLive(d.proxyId, callId);
  await d.redis.set(key, String(process.pid), 'PX', LIVE_TTL_MS);
  const timer = setInterval(() => void d.redis.pexpire(key, LIVE_TTL_MS).catch(() => undefined), LIVE_TTL_MS / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await d.redis.del(key);
  };
}

export async function isLive(d: BranchDeps, callId: string): Promise<boolean> {
  return (await d.redis.exists(d.k.branchLive(d.proxyId, callId))) === 1;
}

/** Undoes the unanswered branches whose INVITE no longer runs anywhere (its process died). */
export async function sweepOrphans(d: BranchDeps): Promise<string[]> {
  const undone: string[] = [];
  for (const callId of await d.redis.zrange(d.k.branchPending(d.proxyId), 0, -1)) {
    if (await isLive(d, callId)) continue;
    const b = await loadBranch(d, callId);
    if (!b || b.answer) {
      await d.redis.zrem(d.k.branchPending(d.proxyId), callId);
      continue;
    }
    // One process undoes it, even when several sweep at once.
    if ((await d.redis.set(d.k.branchUndoLock(d.proxyId, callId), String(process.pid), 'PX', 60_000, 'NX')) !== 'OK') continue;
    await undoBranch(d, b);
    undone.push(callId);
  }
  return undone;
}

/** Takes the session's fragments off its devices, lets go of its allocations and its MAC; returns the devices' new revisions.
 *  The steps are separate calls, so the session is fully undone only once its branch record is gone
 *  (the last step): a crash before that leaves the record for the next undo to finish. */
export async function undoBranch(d: BranchDeps, b: BranchRecord): Promise<{ targets: SyncTarget[]; synced: boolean; error?: string }> {
  const owner = ownerOf(b.callId);
  const revisions = await d.state.setContributions(owner, new Map(b.devices.map((device) => [device, null])));
  const targets: SyncTarget[] = b.devices.map((device) => ({ device, revision: revisions.get(device)! }));
  if (d.undoPauseMs) await new Promise((r) => setTimeout(r, d.undoPauseMs));
  await d.members.remove(b.cid, b.mac, b.callId);
  await d.alloc.releaseVlan({ cid: b.cid, pod: b.pod, user: owner });
  if (b.group) await d.alloc.releaseGroup({ cid: b.cid, device: b.group.device, user: owner, pool: b.group.pool });
  await d.redis.multi().del(d.k.branch(d.proxyId, b.callId)).zrem(d.k.branchPending(d.proxyId), b.callId).exec();
  try {
    await d.sync.request(targets, { sessionId: b.callId });
    await d.sync.waitApplied(targets, { deadlineMs: d.syncDeadlineMs, sessionId: b.callId });
    return { targets, synced: true };
  } catch (e) {
    return { targets, synced: false, error: e instanceof Error ? e.message : String(e) };
  }
}
