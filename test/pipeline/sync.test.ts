// The pipeline's promises on the real Redis with simulated devices (see harness.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { normalizeConfig } from '../../src/model/device-config.ts';
import { ownedBy } from '../../src/pipeline/bullmq-device-sync.ts';
import { failures, retries } from '../../src/pipeline/metrics.ts';
import { backoffDelay } from '../../src/pipeline/sync-queue.ts';
import { SimulatedDeviceError, simulatedDevice } from '../../src/pipeline/simulated-device.ts';
import { capturedLog } from '../support/captured-log.ts';
import { counterValue } from '../support/prometheus.ts';
import { harness, vlans, type Harness } from './harness.ts';

let h: Harness | null = null;

async function failedJob(h: Harness, device: string) {
  let jobs = await h.pipeline.queue.getJobs(['failed']);
  for (let i = 0; i < 100 && !jobs.some((j) => j.data.device === device); i++) {
    await new Promise((r) => setTimeout(r, 50));
    jobs = await h.pipeline.queue.getJobs(['failed']);
  }
  const mine = jobs.filter((j) => j.data.device === device);
  expect(mine).toHaveLength(1);
  return mine[0]!;
}
afterEach(async () => {
  await h?.close();
  h = null;
});

async function change(h: Harness, device: string, owner: string, ids: number[] | null) {
  const revision = await h.pipeline.store.setContribution(device, owner, ids ? vlans(...ids) : null);
  await h.pipeline.port.request([{ device, revision }], { sessionId: owner });
  return { device, revision };
}

describe('device sync pipeline', () => {
  it('coalesces many changes that arrive during a slow commit into few commits, and ends exact', async () => {
    h = await harness({ commitMs: 300 });
    const targets = [];
    for (let i = 1; i <= 60; i++) {
      targets.push(await change(h, 'tor1', `s${i}`, [100 + i]));
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 150));
    }
    await h.pipeline.port.waitApplied(targets, { deadlineMs: 30_000, sessionId: 's60' });
    const commits = await h.sim.commits('tor1');
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThanOrEqual(10);
    const want = normalizeConfig(vlans(...Array.from({ length: 60 }, (_, i) => 101 + i)));
    expect(await h.sim.read(simulatedDevice('tor1'))).toEqual(want);
    const st = await h.pipeline.store.status('tor1');
    expect(st).toMatchObject({ desiredRevision: 60, appliedRevision: 60, syncState: 'in-sync', commits });
    expect(await h.sim.overlaps('tor1')).toEqual([]);
  });

  it('fails only the session whose change the device refuses, with the device words; rollback leaves no trace', async () => {
    h = await harness({ commitMs: 200 });
    const warm = await change(h, 'tor1', 'warm', [10]);
    // While warm's commit runs, a good and a bad session land in the same batch.
    const good = await change(h, 'tor1', 'good', [20]);
    const bad = await change(h, 'tor1', 'bad', [5000, 30]);
    const good2 = await change(h, 'tor1', 'good2', [40]);
    const results = await Promise.allSettled([
      h.pipeline.port.waitApplied([warm], { deadlineMs: 20_000, sessionId: 'warm' }),
      h.pipeline.port.waitApplied([good], { deadlineMs: 20_000, sessionId: 'good' }),
      h.pipeline.port.waitApplied([bad], { deadlineMs: 20_000, sessionId: 'bad' }),
      h.pipeline.port.waitApplied([good2], { deadlineMs: 20_000, sessionId: 'good2' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const err = (results[2] as PromiseRejectedResult).reason as NvoError;
    expect(err).toBeInstanceOf(NvoError);
    expect(err.code).toBe('device-error');
    expect(err.status).toBe(500);
    expect(err.message).toBe('tor1: value not in range');
    expect(err.details).toMatchObject({ device: 'tor1', badValue: 5000, errorTag: 'invalid-value', owner: 'bad' });
    expect((await h.sim.read(simulatedDevice('tor1'))).vlans.map((v) => v.id)).toEqual([10, 20, 40]);

    // The proxy's rollback: remove the session's contribution and sync.
    const back = await change(h, 'tor1', 'bad', null);
    await h.pipeline.port.waitApplied([back], { deadlineMs: 20_000, sessionId: 'rollback' });
    expect(await h.sim.read(simulatedDevice('tor1'))).toEqual(normalizeConfig(vlans(10, 20, 40)));
    expect(await h.t.redis.hlen(h.t.k.syncQuarantine('tor1'))).toBe(0);
    expect((await h.pipeline.store.status('tor1')).syncState).toBe('in-sync');
  });

  it('a sole refused change fails its waiter at once, and a later session on the device still succeeds', async () => {
    h = await harness();
    const bad = await change(h, 'tor2', 'bad', [4095]);
    await expect(h.pipeline.port.waitApplied([bad], { deadlineMs: 20_000, sessionId: 'bad' })).rejects.toMatchObject({ code: 'device-error', message: 'tor2: value not in range' });
    // Permanent: the device was asked once, never again (no retry, no trial commit for a sole owner).
    expect((await h.sim.history('tor2')).length).toBe(1);
    expect(await counterValue(retries, { device: 'tor2' })).toBe(0);
    expect(await counterValue(failures, { device: 'tor2', kind: 'refused' })).toBe(1);
    const ok = await change(h, 'tor2', 'ok', [7]);
    await h.pipeline.port.waitApplied([ok], { deadlineMs: 20_000, sessionId: 'ok' });
    expect((await h.sim.read(simulatedDevice('tor2'))).vlans.map((v) => v.id)).toEqual([7]);
  });

  it('retries transient faults with backoff and converges', async () => {
    h = await harness();
    await h.sim.injectFaults('tor3', 3);
    const t = await change(h, 'tor3', 's1', [11]);
    await h.pipeline.port.waitApplied([t], { deadlineMs: 30_000, sessionId: 's1' });
    expect((await h.sim.read(simulatedDevice('tor3'))).vlans.map((v) => v.id)).toEqual([11]);
    expect(await h.sim.commits('tor3')).toBe(1);
    expect((await h.sim.history('tor3')).length).toBe(4);
  });

  it('answers timeout at the deadline with the device last error', async () => {
    h = await harness();
    await h.sim.injectFaults('tor4', 1000);
    const t = await change(h, 'tor4', 's1', [12]);
    const err = (await h.pipeline.port.waitApplied([t], { deadlineMs: 1500, sessionId: 's1' }).catch((e: unknown) => e)) as NvoError;
    expect(err).toBeInstanceOf(NvoError);
    expect(err.code).toBe('timeout');
    expect(err.status).toBe(504);
    expect(err.message).toMatch(/^tor4 did not apply the change within 1500 ms \(last error: tor4: connect ECONNREFUSED/);
  });

  it('fails waiters when the device is not in the inventory, without retrying', async () => {
    h = await harness({ unknown: ['ghost'] });
    const t = await change(h, 'ghost', 's1', [13]);
    await expect(h.pipeline.port.waitApplied([t], { deadlineMs: 20_000, sessionId: 's1' })).rejects.toMatchObject({ code: 'device-error', message: 'ghost: device ghost is not in the inventory' });
    const job = await failedJob(h, 'ghost');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('device ghost is not in the inventory');
  });

  it('a refusal nobody can be blamed for fails the job at once (UnrecoverableError) and every waiter with the device words', async () => {
    // A device that will not delete a VLAN still in use: the removals alone are refused, and they
    // belong to no session that is still there to blame.
    let refusals = 0;
    h = await harness({
      driver: (sim) => ({
        read: (d) => sim.read(d),
        apply: async (d, req) => {
          if (req.change.remove.vlans.length && ++refusals) throw new SimulatedDeviceError('vlan 10 is in use by interface ge-0/0/1', false, { errorTag: 'in-use' });
          return sim.apply(d, req);
        },
      }),
    });
    const first = await change(h, 'tor8', 'a', [10]);
    await h.pipeline.port.waitApplied([first], { deadlineMs: 20_000, sessionId: 'a' });
    // One batch: a leaves, b arrives.
    await h.pipeline.store.setContribution('tor8', 'a', null);
    const revision = await h.pipeline.store.setContribution('tor8', 'b', vlans(20));
    await h.pipeline.port.request([{ device: 'tor8', revision }], { sessionId: 'b' });
    await expect(h.pipeline.port.waitApplied([{ device: 'tor8', revision }], { deadlineMs: 20_000, sessionId: 'b' })).rejects.toMatchObject({
      code: 'device-error',
      message: 'tor8: vlan 10 is in use by interface ge-0/0/1',
    });
    const job = await failedJob(h, 'tor8');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('tor8: vlan 10 is in use by interface ge-0/0/1');
    // The batch, then the removals alone: both refused in that one attempt; only a's sync committed.
    expect(refusals).toBe(2);
    expect((await h.sim.history('tor8')).length).toBe(1);
    expect(await counterValue(failures, { device: 'tor8', kind: 'unattributed' })).toBe(1);
    expect(await counterValue(retries, { device: 'tor8' })).toBe(0);
    expect((await h.pipeline.store.status('tor8')).lastError).toMatchObject({ message: 'vlan 10 is in use by interface ge-0/0/1' });
  });

  it('logs each sync as JSON with the device and the session that asked for it', async () => {
    const captured = capturedLog();
    h = await harness({ log: captured.log });
    await h.sim.injectFaults('tor9', 1);
    const t = await change(h, 'tor9', 'call-77', [9]);
    await h.pipeline.port.waitApplied([t], { deadlineMs: 20_000, sessionId: 'call-77' });
    const lines = captured.lines();
    expect(lines.find((l) => l.event === 'sync-start')).toMatchObject({ device: 'tor9', session: 'call-77', revision: 1, owners: ['call-77'] });
    expect(lines.find((l) => l.event === 'sync-retry')).toMatchObject({ session: 'call-77', err: { details: { device: 'tor9' } } });
  });

  it('repairs drift: an out-of-band change is read back and undone', async () => {
    h = await harness();
    const t = await change(h, 'tor5', 's1', [21, 22]);
    await h.pipeline.port.waitApplied([t], { deadlineMs: 20_000, sessionId: 's1' });
    await h.sim.tamper('tor5', vlans(22, 99));
    const jobId = await h.pipeline.port.repair('tor5');
    const job = await h.pipeline.queue.getJob(jobId);
    expect(job).toBeTruthy();
    for (let i = 0; i < 200 && !(await job!.isCompleted()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await h.sim.read(simulatedDevice('tor5'))).toEqual(normalizeConfig(vlans(21, 22)));
    expect((await job!.getState())).toBe('completed');
    expect((await h.pipeline.queue.getJob(jobId))!.returnvalue).toMatchObject({ drift: true, commits: 1 });
  });
});

describe('periodic check-sync and sweep', () => {
  it('notices an out-of-band change by itself and repairs it', async () => {
    h = await harness({ checkIntervalMs: 400 });
    const t = await change(h, 'tor6', 's1', [31]);
    await h.pipeline.port.waitApplied([t], { deadlineMs: 20_000, sessionId: 's1' });
    await h.sim.tamper('tor6', vlans(31, 77));
    let now: number[] = [];
    for (let i = 0; i < 200; i++) {
      now = (await h.sim.read(simulatedDevice('tor6'))).vlans.map((v) => v.id);
      if (now.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(now).toEqual([31]);
  });

  it('queues again a device whose job ran out of attempts', async () => {
    h = await harness({ retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, sweepIntervalMs: 300 });
    await h.sim.injectFaults('tor7', 2);
    const t = await change(h, 'tor7', 's1', [41]);
    await h.pipeline.port.waitApplied([t], { deadlineMs: 30_000, sessionId: 's1' });
    expect((await h.sim.read(simulatedDevice('tor7'))).vlans.map((v) => v.id)).toEqual([41]);
    expect((await h.pipeline.queue.getJobs(['failed'])).map((j) => j.data.device)).toEqual(['tor7']);
  });
});

describe('pieces', () => {
  it("matches a refused owner to its session the way the network proxy names owners", () => {
    expect(ownedBy('session:c1', 'c1')).toBe(true);
    expect(ownedBy('c1', 'c1')).toBe(true);
    expect(ownedBy('session:c1:mac', 'c1')).toBe(true);
    expect(ownedBy('session:xc1', 'c1')).toBe(false);
    expect(ownedBy('session:c10', 'c1')).toBe(false);
    expect(ownedBy('vlan:c1', 'c1')).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    const p = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, p, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, p, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
