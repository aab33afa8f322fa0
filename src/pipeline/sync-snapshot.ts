// Everything one sync needs about a device, read in one MULTI so the parts agree: each owner's
// contribution with the revision (seq) that wrote it, the desired revision, what was last applied, and
// the contributions the device refused (quarantine). The union is DeviceStateStore's rule: fragments
// in seq order, a newer one wins a key conflict.
import type { Redis } from 'ioredis';
import { emptyConfig, type DeviceConfig } from '../model/device-config.ts';
import { unionConfigs } from '../store/device-state.ts';
import type { Keys } from '../store/keys.ts';

export interface Contribution {
  owner: string;
  seq: number;
  config: DeviceConfig;
}

export interface Refusal {
  /** The seq of the contribution that was refused; a newer write by the same owner lifts it. */
  seq: number;
  code: string;
  message: string;
  device: string;
  details?: Record<string, unknown>;
  at: string;
}

export interface SyncSnapshot {
  device: string;
  revision: number;
  contributions: Contribution[];
  applied: { revision: number; config: DeviceConfig; present: boolean };
  /** Refusals that still apply (the owner's contribution is unchanged since). */
  quarantine: Map<string, Refusal>;
  /** Quarantine entries whose owner is gone or rewrote its contribution: to be deleted. */
  staleQuarantine: string[];
}

export async function readSnapshot(redis: Redis, k: Keys, device: string): Promise<SyncSnapshot> {
  const res = await redis
    .multi()
    .hgetall(k.deviceContrib(device))
    .hmget(k.deviceState(device), 'desiredRev', 'appliedRev', 'applied')
    .hgetall(k.syncQuarantine(device))
    .exec();
  if (!res) throw new Error('redis MULTI aborted');
  const contrib = (res[0]?.[1] ?? {}) as Record<string, string>;
  const [desiredRev, appliedRev, applied] = (res[1]?.[1] ?? []) as (string | null)[];
  const refused = (res[2]?.[1] ?? {}) as Record<string, string>;
  const contributions = Object.entries(contrib)
    .map(([owner, raw]) => ({ owner, ...(JSON.parse(raw) as { seq: number; config: DeviceConfig }) }))
    .sort((a, b) => a.seq - b.seq);
  const bySeq = new Map(contributions.map((c) => [c.owner, c.seq]));
  const quarantine = new Map<string, Refusal>();
  const staleQuarantine: string[] = [];
  for (const [owner, raw] of Object.entries(refused)) {
    const r = JSON.parse(raw) as Refusal;
    if (bySeq.get(owner) === r.seq) quarantine.set(owner, r);
    else staleQuarantine.push(owner);
  }
  return {
    device,
    revision: Number(desiredRev ?? 0),
    contributions,
    applied: { revision: Number(appliedRev ?? 0), config: applied ? (JSON.parse(applied) as DeviceConfig) : emptyConfig(), present: applied != null },
    quarantine,
    staleQuarantine,
  };
}

export function unionOf(contributions: readonly Contribution[], base: DeviceConfig = emptyConfig()): DeviceConfig {
  return unionConfigs(contributions.map((c) => c.config), base);
}

/** What the device should have: every contribution the device has not refused. */
export function targetOf(s: SyncSnapshot): DeviceConfig {
  return unionOf(s.contributions.filter((c) => !s.quarantine.has(c.owner)));
}
