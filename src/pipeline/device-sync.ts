// One sync of one device, under its lease: read everything, render the difference between what the
// device has and what it should have *now* (every change since the last sync coalesced into one
// commit), apply it through the device's driver, record the applied revision.
//
// A permanent refusal of a coalesced batch must not fail the innocent sessions in it, so the batch is
// bisected by contribution owner (isolate.ts): the owners the device refuses are quarantined with the
// device's words, everything else is committed, and the applied revision moves on. The refused
// sessions are told (their waitApplied rejects), and their rollback removes the contribution, which
// lifts the quarantine.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Device } from '../model/device.ts';
import { diffConfig, emptyConfig, isEmptyChange, normalizeConfig, stableJson, type DeviceConfig } from '../model/device-config.ts';
import type { DeviceStateStore } from '../store/device-state.ts';
import type { Keys } from '../store/keys.ts';
import { NvoError } from '../errors.ts';
import { deviceWords, isAccessFailure, isDriftRefusal, isRetryable } from './device-driver.ts';
import type { DeviceLease } from './device-lock.ts';
import type { DriverRegistry } from './driver-registry.ts';
import { isolate } from './isolate.ts';
import * as m from './metrics.ts';
import type { SyncRecords } from './sync-records.ts';
import { pendingOf, readFullSnapshot, readSnapshot, settledOf, targetOf, unionOf, type Contribution, type SyncSnapshot } from './sync-snapshot.ts';

export interface SyncDeps {
  redis: Redis;
  k: Keys;
  store: DeviceStateStore;
  records: SyncRecords;
  drivers: DriverRegistry;
  lookup: (id: string) => Promise<Device | null>;
  log: Logger;
  /** false: one contribution per commit — only to measure the baseline (bench:pipeline). */
  coalesce?: boolean;
}

export interface SyncOutcome {
  device: string;
  revision: number;
  commits: number;
  /** Desired-state revisions this sync brought onto the device. */
  coalesced: number;
  refused: string[];
  drift: boolean;
  /** The sync stopped short of the desired revision (baseline mode): another job must follow. */
  behind?: boolean;
}

/** A permanent failure no single owner could be blamed for; the job fails without retry. */
export class DeviceRefusedError extends NvoError {}

export async function syncDevice(deps: SyncDeps, device: string, lease: DeviceLease, opts: { repair?: boolean } = {}): Promise<SyncOutcome> {
  const { store, records } = deps;
  const log = deps.log.child({ device, fence: lease.token });
  // A repair compares with every contribution: no delta read.
  const snap = await (opts.repair ? readFullSnapshot : readSnapshot)(deps.redis, deps.k, device);
  await records.dropRefusals(device, snap.staleQuarantine);
  const outcome: SyncOutcome = { device, revision: snap.revision, commits: 0, coalesced: Math.max(0, snap.revision - snap.applied.revision), refused: [], drift: false };

  const dev = await deps.lookup(device);
  if (!dev) {
    const words = { code: 'not-found', message: `device ${device} is not in the inventory`, details: { device } };
    await failWhole(deps, snap, words);
    throw new DeviceRefusedError('device-error', words.message, [], words.details);
  }
  const driver = deps.drivers.for(dev);

  let base = snap.applied.config;
  // A repair that reads the device back talks to it even when nothing needs changing.
  const contacted = Boolean(opts.repair && driver.read);
  if (opts.repair) {
    // Without a read-back, a repair can only re-send everything (merge is idempotent; extras stay).
    base = driver.read ? await readOrFail(deps, snap, dev, driver.read.bind(driver)) : emptyConfig();
    // A read that answered is proof the device is reached, even when nothing needs changing.
    if (driver.read) await store.recordReached(device, 'check');
    for (const kind of driver.ignoredKinds?.(dev) ?? []) (base[kind] as unknown[]) = [...snap.applied.config[kind]];
    base = normalizeConfig(base);
    outcome.drift = Boolean(driver.read) && stableJson(base) !== stableJson(snap.applied.config);
    if (outcome.drift) {
      m.drift.inc({ device });
      log.warn({ event: 'drift', change: diffConfig(snap.applied.config, base) }, 'device differs from what nvo applied; repairing');
    }
  }

  const step = planSync(snap, deps.coalesce !== false);
  const change = diffConfig(base, step.target);
  if (isEmptyChange(change)) {
    await lease.assertHeld();
    if (step.revision > snap.applied.revision || !snap.applied.present) {
      // Nothing sent: without a read this is bookkeeping, not contact (reachability stays as it was).
      await store.recordApplied(device, step.revision, step.target, { committed: false, ...(contacted ? { reached: 'check' } : {}) });
    } else if (contacted) await store.clearError(device);
    if (contacted) await records.clearFailure(device);
    return { ...outcome, revision: step.revision };
  }

  const owners = step.candidates.map((c) => c.owner);
  log.info({ event: 'sync-start', revision: step.revision, from: snap.applied.revision, owners: owners.slice(0, 50), repair: Boolean(opts.repair) }, 'sync');
  await store.setSyncing(device, true);
  try {
    await lease.assertHeld();
    try {
      const r = await driver.apply(dev, { base: snap.applied.revision, revision: step.revision, applied: base, desired: step.target, change });
      if (r.committed) outcome.commits++;
      await lease.assertHeld();
      await store.recordApplied(device, step.revision, step.target, { committed: r.committed, reached: 'sync' });
      await records.clearFailure(device);
      return { ...outcome, revision: step.revision, coalesced: Math.max(0, step.revision - snap.applied.revision), behind: step.revision < snap.revision };
    } catch (err) {
      if (isRetryable(err)) throw err;
      if (isAccessFailure(err)) throw await failRevision(deps, snap, err);
      if (!opts.repair && driver.read && isDriftRefusal(err)) {
        log.warn({ event: 'drift-refusal', err: deviceWords(device, err) }, 'the device does not have what nvo applied; reading it back and syncing against that');
        // Once, as a repair: it reads the full snapshot and the device, so it starts over. A session's
        // own dangling reference is refused with these tags too; the repair's refusal then goes to
        // the culprit search below, one read later.
        return syncDevice(deps, device, lease, { repair: true });
      }
      if (deps.coalesce === false) throw await failOrBlame(deps, snap, step.candidates.length === 1 ? step.candidates[0]!.owner : null, err);
      // Permanent: find the owner(s) the device refuses, commit the rest.
      log.warn({ event: 'refused', err: deviceWords(device, err), owners: owners.slice(0, 50) }, 'device refused a coalesced change; isolating the culprit');
      const res = await isolate({ driver, dev, lease, snap, base, batchError: err });
      outcome.commits += res.commits;
      if (res.unattributed) throw await failRevision(deps, snap, res.unattributed);
      await records.refuse(device, res.refused);
      for (const [owner, r] of res.refused) {
        m.failures.inc({ device, kind: 'refused' });
        log.error({ event: 'refused-owner', owner, code: r.code, message: r.message }, 'contribution quarantined');
      }
      await lease.assertHeld();
      // The device answered each trial, refusals included.
      await store.recordApplied(device, snap.revision, res.config, { committed: res.commits > 0, reached: 'sync' });
      await store.recordError(device, { code: 'device-error', message: [...res.refused.values()].map((r) => r.message).join('; ') });
      await records.notify(device, snap.revision);
      return { ...outcome, refused: [...res.refused.keys()] };
    }
  } finally {
    await store.setSyncing(device, false).catch(() => undefined);
  }
}

/** What the next sync brings the device to, and at which revision: the same code for `nvo device diff`. */
export function planSync(snap: SyncSnapshot, coalesce = true): { target: DeviceConfig; revision: number; candidates: Contribution[] } {
  return coalesce ? { target: targetOf(snap), revision: snap.revision, candidates: pendingOf(snap) } : oneStep(snap);
}

/** Baseline mode: everything settled plus the oldest pending contribution, recorded at the revision just before the next one. */
function oneStep(s: SyncSnapshot) {
  const todo = pendingOf(s);
  const first = todo.slice(0, 1);
  const next = todo[1];
  return { target: unionOf(first, settledOf(s)), revision: next ? next.seq - 1 : s.revision, candidates: first };
}

async function failWhole(deps: SyncDeps, snap: SyncSnapshot, words: { code: string; message: string; details: Record<string, unknown> }): Promise<void> {
  m.failures.inc({ device: snap.device, kind: 'unattributed' });
  await deps.records.fail(snap.device, { revision: snap.revision, code: words.code, message: words.message, details: words.details, at: new Date().toISOString() });
  await deps.store.recordError(snap.device, { code: words.code, message: words.message });
  await deps.records.notify(snap.device, snap.revision);
}

/** A repair's read-back. Transient faults go back to the worker (retried; it records the error);
 *  anything else (a wrong host key, a refused login, a device that does not speak the dialect) fails
 *  the sync at once with the device's words, as a refused commit would. */
async function readOrFail(deps: SyncDeps, snap: SyncSnapshot, dev: Device, read: (d: Device) => Promise<DeviceConfig>): Promise<DeviceConfig> {
  try {
    return await read(dev);
  } catch (err) {
    if (isRetryable(err)) throw err;
    throw await failRevision(deps, snap, err);
  }
}

/** Nobody's contribution is to blame (nvo could not get in, the read was refused, or no culprit was
 *  found), so the whole revision fails — waiting sessions hear the device's words now, not at their
 *  deadline. */
async function failRevision(deps: SyncDeps, snap: SyncSnapshot, err: unknown): Promise<DeviceRefusedError> {
  const words = deviceWords(snap.device, err);
  await failWhole(deps, snap, words);
  return new DeviceRefusedError('device-error', prefixed(snap.device, words.message), [], words.details);
}

/** `device: message`, once: driver messages (XmppError) may already start with the device id. */
function prefixed(device: string, message: string): string {
  return message.startsWith(`${device}: `) ? message : `${device}: ${message}`;
}

async function failOrBlame(deps: SyncDeps, snap: SyncSnapshot, owner: string | null, err: unknown): Promise<Error> {
  const words = deviceWords(snap.device, err);
  const c = owner ? snap.contributions.find((x) => x.owner === owner) : undefined;
  if (!c) {
    await failWhole(deps, snap, words);
  } else {
    await deps.records.refuse(snap.device, new Map([[c.owner, { seq: c.seq, device: snap.device, code: words.code, message: words.message, details: words.details, at: new Date().toISOString() }]]));
    m.failures.inc({ device: snap.device, kind: 'refused' });
    await deps.store.recordReached(snap.device, 'sync');
    await deps.store.recordError(snap.device, { code: words.code, message: words.message });
    await deps.records.notify(snap.device, snap.revision);
  }
  return new DeviceRefusedError('device-error', `${snap.device}: ${words.message}`, [], words.details);
}
