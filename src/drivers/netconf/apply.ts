// Applies one DeviceChange to one device, all or nothing (RFC 6241 §8.3/§8.4):
//   candidate: lock → discard → edit → [validate] → confirmed commit → read back → confirming commit → unlock
//   running only: lock → edit (rollback-on-error) → read back → unlock
// On any failure the device is left as it was: the confirmed commit is cancelled, the candidate
// discarded, the lock released, and the first error is thrown.
import { countChange, emptyConfig, ENTRY_KINDS, entryKey, sameJson, type DeviceChange, type DeviceConfig, type EntryKind } from '../../model/device-config.ts';
import * as caps from './capabilities.ts';
import type { Dialect } from './dialects/registry.ts';
import { notRenderedKinds } from './dialects/dialect.ts';
import type { DeviceIdentity } from './dialects/render-model.ts';
import { NetconfError } from './netconf-error.ts';
import * as op from './operations.ts';
import type { NetconfSession } from './rpc.ts';

export type ApplyStage = 'locked' | 'edited' | 'validated' | 'commit-pending' | 'read-back' | 'confirmed' | 'unlocked';

export interface ApplyOptions {
  dialect: Dialect;
  device: DeviceIdentity;
  /** Seconds the device waits for the confirming commit before it rolls back by itself. */
  confirmTimeoutS?: number;
  lock?: op.LockOptions;
  /** 'change': read back only the entries the change touches when the dialect can select them and
   *  the change is small (NARROW_READ_BACK) — the pipeline, whose devices hold thousands of entries;
   *  'all' (default): nvo's whole part, which readBack then holds. */
  readBack?: 'all' | 'change';
  /** Called as the sequence advances (progress, tests that crash between stages). */
  onStage?: (stage: ApplyStage) => void | Promise<void>;
}

export interface ApplyResult {
  /** What the device holds afterwards in nvo's part, when the dialect can read it back: all of it,
   *  or with readBack 'change' possibly just the entries the change touched (a removed one is absent
   *  when the removal worked). */
  readBack?: DeviceConfig;
  path: 'candidate' | 'running';
  sent: string;
}

export async function applyDeviceChange(s: NetconfSession, change: DeviceChange, o: ApplyOptions): Promise<ApplyResult> {
  const config = o.dialect.render(change, o.device);
  // Nothing this dialect renders changed (e.g. only EVPN-learned kinds): no lock, no commit.
  if (!config) return { path: caps.hasCandidate(s) ? 'candidate' : 'running', sent: '' };
  if (caps.hasCandidate(s)) return viaCandidate(s, change, config, o);
  if (caps.hasWritableRunning(s)) return viaRunning(s, change, config, o);
  throw new NetconfError('capability-missing', `${s.where}: the device announces neither :candidate nor :writable-running`, {}, false);
}

async function viaCandidate(s: NetconfSession, change: DeviceChange, config: string, o: ApplyOptions): Promise<ApplyResult> {
  const stage = async (st: ApplyStage) => o.onStage?.(st);
  const confirmed = caps.hasConfirmedCommit(s);
  let locked = false;
  let pendingConfirm = false;
  try {
    await op.lock(s, 'candidate', o.lock);
    locked = true;
    await stage('locked');
    // A candidate another session left dirty must not ride along with our commit.
    await op.discardChanges(s);
    await op.editConfig(s, { target: 'candidate', config, defaultOperation: 'merge' });
    await stage('edited');
    if (o.dialect.quirks.validateBeforeCommit && caps.hasValidate(s)) {
      await op.validate(s, 'candidate');
      await stage('validated');
    }
    let readBack: DeviceConfig | undefined;
    if (confirmed) {
      await op.commit(s, { confirmed: true, confirmTimeoutS: o.confirmTimeoutS ?? 120 });
      pendingConfirm = true;
      await stage('commit-pending');
      readBack = await verify(s, change, o);
      await stage('read-back');
      await op.commit(s);
      pendingConfirm = false;
    } else {
      await op.commit(s);
      readBack = await verify(s, change, o);
    }
    await stage('confirmed');
    await op.unlock(s, 'candidate');
    locked = false;
    await stage('unlocked');
    return { readBack, path: 'candidate', sent: config };
  } catch (err) {
    await cleanUp(s, [
      () => (pendingConfirm ? op.cancelCommit(s) : undefined),
      () => (locked ? op.discardChanges(s) : undefined),
      () => (locked ? op.unlock(s, 'candidate') : undefined),
    ]);
    throw err;
  }
}

async function viaRunning(s: NetconfSession, change: DeviceChange, config: string, o: ApplyOptions): Promise<ApplyResult> {
  let locked = false;
  try {
    await op.lock(s, 'running', o.lock);
    locked = true;
    await o.onStage?.('locked');
    // RFC 6241 §7.2: rollback-on-error leaves running as it was if any part of the edit fails.
    await op.editConfig(s, { target: 'running', config, defaultOperation: 'merge', errorOption: caps.hasRollbackOnError(s) ? 'rollback-on-error' : undefined });
    await o.onStage?.('edited');
    const readBack = await verify(s, change, o);
    await op.unlock(s, 'running');
    locked = false;
    await o.onStage?.('unlocked');
    return { readBack, path: 'running', sent: config };
  } catch (err) {
    await cleanUp(s, [() => (locked ? op.unlock(s, 'running') : undefined)]);
    throw err;
  }
}

async function cleanUp(s: NetconfSession, steps: (() => Promise<void> | undefined)[]): Promise<void> {
  for (const step of steps) {
    if (!s.isOpen) return; // a lost session releases its lock and rolls back a confirmed commit by itself
    try {
      await step();
    } catch {
      // the original error is what the caller needs; cleanup is best effort
    }
  }
}

/** Up to this many changed entries, the read-back asks for just those entries (dialect.filterFor):
 *  a sync that adds 400 MACs to a device holding 10,000 reads back 400, not 10,000 (under a burst of
 *  2,000 INVITEs a gateway's syncs carry several hundred). Above it — a first sync, a resync — one
 *  filter for the whole part spares the device thousands of content-match nodes. */
export const NARROW_READ_BACK = 4096;

// Reads the change's entries (or nvo's whole part) of running back and checks the change landed:
// every merged entry present and equal, every removed entry gone.
async function verify(s: NetconfSession, change: DeviceChange, o: ApplyOptions): Promise<DeviceConfig | undefined> {
  const dialect = o.dialect;
  if (!dialect.parse) return undefined;
  const narrow = o.readBack === 'change' && dialect.filterFor && countChange(change) <= NARROW_READ_BACK;
  const data = await op.getConfig(s, 'running', narrow ? dialect.filterFor!(touched(change)) : dialect.filter);
  const got = dialect.parse(data);
  const wrong = readBackProblems(got, change, notRenderedKinds(dialect));
  if (wrong.length) throw new NetconfError('readback-mismatch', `${s.where}: after commit the device does not hold what was sent: ${wrong.slice(0, 5).join('; ')}`, { problems: wrong }, false);
  return got;
}

/** Every entry the change merges or removes (a removal names its entry by key only: enough for a filter). */
function touched(change: DeviceChange): DeviceConfig {
  const out = emptyConfig();
  for (const kind of ENTRY_KINDS) (out[kind] as unknown[]) = [...change.merge[kind], ...change.remove[kind]];
  return out;
}

export function readBackProblems(got: DeviceConfig, change: DeviceChange, skip: readonly EntryKind[] = []): string[] {
  const out: string[] = [];
  for (const kind of ENTRY_KINDS) {
    if (skip.includes(kind)) continue;
    const key = entryKey[kind] as (e: unknown) => string;
    const have = new Map((got[kind] as unknown[]).map((e) => [key(e), e]));
    for (const e of change.merge[kind] as unknown[]) if (!have.has(key(e)) || !sameJson(have.get(key(e)), e)) out.push(`${kind} ${key(e)} missing or different`);
    for (const e of change.remove[kind] as unknown[]) if (have.has(key(e))) out.push(`${kind} ${key(e)} still present`);
  }
  return out;
}

