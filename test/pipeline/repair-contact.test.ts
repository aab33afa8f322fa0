// A repair (or drift check) has to talk to the device: the pipeline with SIMULATED devices (harness.ts)
// whose read-back fails for a while, so the failing attempts and the one that gets through can be
// counted. Before the fix the first attempt consumed the repair flag and its retry was a plain sync
// with nothing to send, which completed without contact and made the device look reached.
import { afterEach, describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import type { Device } from '../../src/model/device.ts';
import { failures, retries } from '../../src/pipeline/metrics.ts';
import { SimulatedDeviceError, type SimulatedDevices } from '../../src/pipeline/simulated-device.ts';
import type { DeviceDriver } from '../../src/pipeline/device-driver.ts';
import { counterValue } from '../support/prometheus.ts';
import { harness, vlans, type Harness } from './harness.ts';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

/** The simulator, with its read-back failing with `fault()` while `failing.n > 0` (counting down). */
function failingReads(fault: () => Error, failing: { n: number; reads: number }) {
  return (sim: SimulatedDevices): DeviceDriver => ({
    apply: (d, req) => sim.apply(d, req),
    read: async (d: Device) => {
      failing.reads++;
      if (failing.n-- > 0) throw fault();
      return sim.read(d);
    },
  });
}

async function settle(h: Harness, jobId: string): Promise<string> {
  const job = (await h.pipeline.queue.getJob(jobId))!;
  for (let i = 0; i < 400; i++) {
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return state;
    await new Promise((r) => setTimeout(r, 50));
  }
  return job.getState();
}

describe('repair contact', () => {
  it('keeps the repair across transient failures: every attempt reads, the device counts as reached only when one answers', async () => {
    const failing = { n: 3, reads: 0 };
    h = await harness({ driver: failingReads(() => new SimulatedDeviceError('connect ECONNREFUSED 127.0.0.1:27999', true), failing) });
    // Something behind nvo's back, on a device nvo never reached: only a read can see it.
    await h.sim.tamper('tor21', vlans(99));
    const jobId = await h.pipeline.port.repair('tor21');

    // While the reads fail: the device's words are its last error, it is not reached, and nothing was
    // recorded as applied by a sync that never talked to it.
    for (let i = 0; i < 200 && failing.reads < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const during = await h.pipeline.store.status('tor21');
    expect(during.lastError?.message).toContain('ECONNREFUSED');
    expect(during.syncState).toMatch(/^(unreachable|syncing)$/);
    expect(await h.pipeline.store.reachability('tor21')).toBeNull();

    expect(await settle(h, jobId)).toBe('completed');
    const job = (await h.pipeline.queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(4);
    // The attempt that got through still read the device, so the drift is found and undone.
    expect(failing.reads).toBe(4);
    expect(job.returnvalue).toMatchObject({ drift: true, commits: 1 });
    expect(await h.sim.read({ id: 'tor21' } as Device)).toEqual(vlans());
    expect(await counterValue(retries, { device: 'tor21' })).toBe(3);
    expect(await h.pipeline.store.reachability('tor21')).toMatchObject({ via: 'sync' });
    expect(await h.pipeline.store.status('tor21')).toMatchObject({ syncState: 'in-sync', lastError: null });
    expect(await h.t.redis.sismember(h.t.k.syncRepair, 'tor21')).toBe(0);
  });

  it('a sync with nothing to send does not count as reaching a device, nor clear its last error', async () => {
    h = await harness();
    // A session that came and went before any sync: the revision moves, nothing is sent.
    await h.pipeline.store.setContribution('tor22', 's1', vlans(5));
    const revision = await h.pipeline.store.setContribution('tor22', 's1', null);
    await h.pipeline.store.recordError('tor22', { code: 'unavailable', message: 'connect ECONNREFUSED (earlier)' });
    await h.pipeline.port.request([{ device: 'tor22', revision }], { sessionId: 's1' });
    await h.pipeline.port.waitApplied([{ device: 'tor22', revision }], { deadlineMs: 20_000, sessionId: 's1' });
    expect(await h.sim.commits('tor22')).toBe(0);
    expect(await h.pipeline.store.reachability('tor22')).toBeNull();
    expect(await h.pipeline.store.status('tor22')).toMatchObject({ appliedRevision: revision, syncState: 'unreachable', lastError: { message: 'connect ECONNREFUSED (earlier)' } });
  });

  it('a refused login fails the repair at once: no retry, the words recorded, the flag kept for the next sync', async () => {
    const failing = { n: 1, reads: 0 };
    const denied = () => new NvoError('forbidden', 'SSH to 127.0.0.1:830: authentication as admin failed', [], { netconfCode: 'auth-failed', transient: false });
    h = await harness({ driver: failingReads(denied, failing) });
    const jobId = await h.pipeline.port.repair('tor23');
    expect(await settle(h, jobId)).toBe('failed');
    const job = (await h.pipeline.queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('tor23: SSH to 127.0.0.1:830: authentication as admin failed');
    expect(await counterValue(retries, { device: 'tor23' })).toBe(0);
    expect(await counterValue(failures, { device: 'tor23' })).toBe(1);
    expect(await h.pipeline.store.status('tor23')).toMatchObject({ syncState: 'unreachable', lastError: { code: 'forbidden', message: 'SSH to 127.0.0.1:830: authentication as admin failed' } });
    expect(await h.pipeline.store.reachability('tor23')).toBeNull();
    expect(await h.t.redis.sismember(h.t.k.syncRepair, 'tor23')).toBe(1);

    // Fixed (the fault is gone): the next sync of the device, whatever asked for it, reads it first.
    const next = await h.pipeline.enqueuer.ensure('tor23');
    expect(await settle(h, next)).toBe('completed');
    expect(failing.reads).toBe(2);
    expect(await h.pipeline.store.reachability('tor23')).toMatchObject({ via: 'check' });
    expect((await h.pipeline.store.status('tor23')).lastError).toBeNull();
  });
});
