// Several worker processes on one Redis, and kill -9 of one in the middle of a sync. Devices are
// SIMULATED (src/pipeline/simulated-device.ts), shared through Redis so every process sees one device.
import type { ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/model/device-config.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { SimulatedDevices, simulatedDevice } from '../../src/pipeline/simulated-device.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { spawnWorker, vlans } from './harness.ts';

const children: ChildProcess[] = [];
const startWorker = async (prefix: string, commitMs: number, concurrency = 4) => {
  const w = await spawnWorker([prefix, String(commitMs), String(concurrency)]);
  children.push(w.child);
  return w.child;
};
let t: TestRedis | null = null;
let proxy: Pipeline | null = null;

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await proxy?.close();
  proxy = null;
  await t?.cleanup();
  t = null;
});

/** The proxy's side: a pipeline with no workers of its own, only the port. */
function proxySide(t: TestRedis): Pipeline {
  return new Pipeline({ redis: t.redis, k: t.k, drivers: new DriverRegistry(), lookup: async (id) => simulatedDevice(id), log: pino({ level: 'silent' }), workers: 0 }).start();
}

describe('worker processes', () => {
  it('two worker processes never sync one device at the same time', async () => {
    t = await testRedis();
    const [w1, w2] = await Promise.all([startWorker(t.prefix, 40), startWorker(t.prefix, 40)]);
    proxy = proxySide(t);
    const sim = new SimulatedDevices(t.redis, t.prefix);
    const devices = ['tor1', 'tor2', 'gw1'];
    const targets = [];
    for (let i = 0; i < 150; i++) {
      const device = devices[i % devices.length]!;
      const revision = await proxy.store.setContribution(device, `s${i}`, vlans(100 + i));
      await proxy.port.request([{ device, revision }], { sessionId: `s${i}` });
      targets.push({ device, revision });
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 30));
    }
    await proxy.port.waitApplied(targets, { deadlineMs: 60_000, sessionId: 'check' });
    const pids = new Set<number>();
    for (const [d, device] of devices.entries()) {
      const history = (await sim.history(device)).sort((a, b) => a[0] - b[0]);
      expect(history.length).toBeGreaterThan(0);
      for (let i = 1; i < history.length; i++) expect(history[i]![0]).toBeGreaterThanOrEqual(history[i - 1]![1]);
      for (const h of history) pids.add(h[2]);
      expect(await sim.overlaps(device)).toEqual([]);
      const want = Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 === d).map((i) => 100 + i);
      expect(await sim.read(simulatedDevice(device))).toEqual(normalizeConfig(vlans(...want)));
    }
    // Both processes took part (otherwise the test proves nothing about two of them).
    expect(pids).toEqual(new Set([w1!.pid, w2!.pid]));
  });

  it('kill -9 of a worker in the middle of a sync: another picks the device up, nothing is lost', async () => {
    t = await testRedis();
    const sim = new SimulatedDevices(t.redis, t.prefix);
    const victim = await startWorker(t.prefix, 4000, 1);
    proxy = proxySide(t);
    const first = await proxy.store.setContribution('tor1', 's1', vlans(10));
    await proxy.port.request([{ device: 'tor1', revision: first }], { sessionId: 's1' });
    // Wait until the commit is under way on the device, then more changes arrive, then the kill.
    for (let i = 0; i < 400 && (await t.redis.get(`${t.prefix}sim:active:tor1`)) !== '1'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await t.redis.get(`${t.prefix}sim:active:tor1`)).toBe('1');
    const targets = [{ device: 'tor1', revision: first }];
    for (let i = 2; i <= 20; i++) {
      const revision = await proxy.store.setContribution('tor1', `s${i}`, vlans(10 + i));
      await proxy.port.request([{ device: 'tor1', revision }], { sessionId: `s${i}` });
      targets.push({ device: 'tor1', revision });
    }
    victim.kill('SIGKILL');
    await new Promise((r) => victim.once('exit', r));
    // The device dropped the session with the unconfirmed commit (the simulator never wrote it).
    await t.redis.set(`${t.prefix}sim:active:tor1`, '0');
    expect(await sim.commits('tor1')).toBe(0);
    await startWorker(t.prefix, 50, 2);
    await proxy.port.waitApplied(targets, { deadlineMs: 60_000, sessionId: 'check' });
    const want = [10, ...Array.from({ length: 19 }, (_, i) => 12 + i)];
    expect(await sim.read(simulatedDevice('tor1'))).toEqual(normalizeConfig(vlans(...want)));
    // The dead worker's job comes back after stalled-job recovery and may run a no-op sync: wait it out.
    let status = await proxy.store.status('tor1');
    for (let i = 0; i < 200 && status.syncState === 'syncing'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await proxy.store.status('tor1');
    }
    expect(status).toMatchObject({ desiredRevision: 20, appliedRevision: 20, syncState: 'in-sync' });
  });
});
