// Finding the contribution a device refuses inside a coalesced batch, by bisection over the batch's
// owners (in seq order, so key conflicts resolve as in the union): a half that commits stays on the
// device, a half that is refused is split again, and a single owner that is refused is the culprit.
// k culprits among n owners cost about 2·k·log2(n) extra commits, paid only when a device refuses.
// First the part that involves no new owner (removals) is applied alone: if the device refuses even
// that, nobody can be blamed and the whole sync fails.
import type { Device } from '../model/device.ts';
import { diffConfig, isEmptyChange, type DeviceConfig } from '../model/device-config.ts';
import { deviceWords, isRetryable, type DeviceDriver } from './device-driver.ts';
import type { DeviceLease } from './device-lock.ts';
import { pendingOf, settledOf, unionOf, type Contribution, type Refusal, type SyncSnapshot } from './sync-snapshot.ts';

export interface IsolateInput {
  driver: DeviceDriver;
  dev: Device;
  lease: DeviceLease;
  snap: SyncSnapshot;
  /** What the device has now. */
  base: DeviceConfig;
  /** The refusal of the whole batch. */
  batchError: unknown;
}

export interface IsolateResult {
  /** What the device has afterwards. */
  config: DeviceConfig;
  commits: number;
  refused: Map<string, Refusal>;
  /** Set when even the part without new owners was refused. */
  unattributed?: unknown;
}

export async function isolate(i: IsolateInput): Promise<IsolateResult> {
  const { snap } = i;
  const candidates = pendingOf(snap);
  const res: IsolateResult = { config: i.base, commits: 0, refused: new Map() };

  const apply = async (from: DeviceConfig, to: DeviceConfig): Promise<unknown> => {
    const change = diffConfig(from, to);
    if (isEmptyChange(change)) return true;
    await i.lease.assertHeld();
    try {
      const r = await i.driver.apply(i.dev, { base: snap.applied.revision, revision: snap.revision, applied: from, desired: to, change });
      if (r.committed) res.commits++;
      return true;
    } catch (err) {
      if (isRetryable(err)) throw err;
      return err;
    }
  };
  const refuse = (c: Contribution, err: unknown) => {
    const w = deviceWords(snap.device, err);
    res.refused.set(c.owner, { seq: c.seq, device: snap.device, code: w.code, message: w.message, details: w.details, at: new Date().toISOString() });
  };

  const baseline = settledOf(snap);
  const removalsEmpty = isEmptyChange(diffConfig(i.base, baseline));
  if (i.driver.isolation === false) {
    // No trial commits: blame needs no commit only when one new owner and nothing else was in the batch.
    if (candidates.length !== 1 || !removalsEmpty) return { ...res, unattributed: i.batchError };
    refuse(candidates[0]!, i.batchError);
    return { ...res, config: baseline };
  }
  const r0 = await apply(i.base, baseline);
  if (r0 !== true) return { ...res, unattributed: r0 };
  res.config = baseline;

  // knownError: this group was already seen refused on exactly this base (no need to try it again).
  const bisect = async (group: Contribution[], knownError: unknown | null): Promise<void> => {
    if (group.length === 0) return;
    let err = knownError;
    if (err === null) {
      const target = unionOf(group, res.config);
      const r = await apply(res.config, target);
      if (r === true) {
        res.config = target;
        return;
      }
      err = r;
    }
    if (group.length === 1) {
      refuse(group[0]!, err);
      return;
    }
    const mid = Math.ceil(group.length / 2);
    await bisect(group.slice(0, mid), null);
    await bisect(group.slice(mid), null);
  };
  await bisect(candidates, removalsEmpty ? i.batchError : null);
  return res;
}
