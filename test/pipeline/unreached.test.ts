// `nvo device sync` against devices nvo cannot get into, as a user runs it: the real CLI and a real
// `nvo worker` in processes of their own, netsim NETCONF devices (real SSH) on loopback.
//  - nothing listens on the device's port: the repair fails with the socket's own words, the worker
//    keeps retrying a read (never a plain sync that completes without contact), status and the overview
//    say so, and the device is not reached; once a device listens there, the same command succeeds;
//  - the pinned host key is wrong: the job fails at its first attempt (no retries), with SSH's words,
//    and a session waiting on the device is failed at once rather than at its deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceSchema } from '../../src/model/device.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { Fleet as NetsimFleet } from '../../src/netsim/fleet.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testFleet } from '../netsim/support.ts';
import { NVO_BIN, runNvo } from '../support/nvo-cli.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { vlans } from './harness.ts';
import { freePort } from '../../lab/prosody-server.ts';

let t: TestRedis;
let inventory: InventoryStore;
let p: Pipeline;
let worker: ChildProcess | null = null;
const fleets: Fleet[] = [];
/** A loopback port nothing listens on: bound by the OS, then closed. */
let unusedPort: number;

const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: t.prefix, NVO_LOG_LEVEL: 'warn' });

function netconfDevice(id: string, vtep: string, management: Record<string, unknown>) {
  return deviceSchema.parse({ id, role: 'tor', driver: 'netconf', dialect: 'nvo3-lab', vtep, management: { host: '127.0.0.1', username: 'admin', password: 'admin', ...management } });
}

async function nveRow(id: string): Promise<{ registered: boolean; since: string | null }> {
  const r = await nvo(['show', 'nves', '--json']);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { id: string; registered: boolean; since: string | null }[]).find((x) => x.id === id)!;
}

beforeAll(async () => {
  t = await testRedis();
  inventory = new InventoryStore(t.redis, t.prefix);
  unusedPort = await freePort();
  await inventory.create('device', netconfDevice('tor11', '192.0.2.31', { port: unusedPort, hostKeyCheck: 'off' }));
  const hk = await testFleet({ devices: 1 });
  fleets.push(hk);
  await inventory.create('device', netconfDevice('tor12', '192.0.2.32', { port: hk.ports[0], hostKeyCheck: 'pinned', hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }));
  p = new Pipeline({ redis: t.redis, k: t.k, drivers: new DriverRegistry(), lookup: async () => null, workers: 0 }).start();
  worker = spawn(process.execPath, [NVO_BIN, 'worker', '--concurrency', '4', '--check-interval', '0'], { env: { ...process.env, NVO_PREFIX: t.prefix, NVO_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    worker!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('sync worker')) resolve();
    });
    worker!.once('exit', (code) => reject(new Error(`nvo worker exited with ${code}: ${err}`)));
  });
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
  }
  await p?.close();
  for (const f of fleets) await f.stop();
  await t?.cleanup();
});

describe('nvo device sync of a device nvo cannot reach', () => {
  it('fails with ECONNREFUSED while nothing listens, is not reached, and succeeds once a device listens there', async () => {
    const sync = await nvo(['device', 'sync', 'tor11', '--timeout', '6']);
    expect(sync.code).toBe(1);
    expect(sync.stdout).toBe('');
    expect(sync.stderr).toMatch(/nvo: error: tor11: .*ECONNREFUSED/);
    expect(sync.stderr).toContain('not repaired within 6 s');

    // The attempts that failed were all repairs: none completed as an empty plain sync behind the scenes.
    const status = JSON.parse((await nvo(['device', 'status', 'tor11', '--json'])).stdout) as { syncState: string; lastError: { code: string; message: string } | null }[];
    expect(status).toEqual([expect.objectContaining({ device: 'tor11', syncState: 'unreachable', lastError: expect.objectContaining({ code: 'unavailable', message: expect.stringContaining('ECONNREFUSED') }) })]);
    const table = await nvo(['device', 'status', 'tor11']);
    expect(table.stdout).toMatch(/tor11\s.*unreachable\s.*ECONNREFUSED/);
    expect(await t.redis.sismember(t.k.syncRepair, 'tor11')).toBe(1);
    expect(await p.store.reachability('tor11')).toBeNull();
    expect(await nveRow('tor11')).toMatchObject({ registered: false, since: null });
    expect((await p.queue.getJobs(['completed'])).filter((j) => j.data.device === 'tor11')).toEqual([]);

    // A device starts listening on that port: the same command now reads it and succeeds.
    fleets.push(await NetsimFleet.start({ devices: 1, basePort: unusedPort }));
    const again = await nvo(['device', 'sync', 'tor11', '--timeout', '60']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('tor11: in-sync at revision 0; no drift; 0 commit(s)');
    expect(await p.store.reachability('tor11')).toMatchObject({ via: 'check' });
    expect(await nveRow('tor11')).toMatchObject({ registered: true });
    const after = JSON.parse((await nvo(['device', 'status', 'tor11', '--json'])).stdout) as unknown[];
    expect(after).toEqual([expect.objectContaining({ syncState: 'in-sync', lastError: null })]);
  }, 120_000);

  it('fails at the first attempt on a wrong pinned host key, and fails a waiting session at once', async () => {
    const sync = await nvo(['device', 'sync', 'tor12', '--timeout', '60']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/nvo: error: tor12: SSH to 127\.0\.0\.1:\d+: host key SHA256:\S+ is not the expected one/);
    expect(sync.stderr).not.toContain('retrying');
    const jobs = (await p.queue.getJobs(['failed'])).filter((j) => j.data.device === 'tor12');
    expect(jobs.map((j) => j.attemptsMade)).toEqual([1]);

    const [row] = JSON.parse((await nvo(['device', 'status', 'tor12', '--json'])).stdout) as { syncState: string; lastError: { code: string; message: string } }[];
    expect(row).toMatchObject({ syncState: 'unreachable', lastError: { code: 'forbidden', message: expect.stringContaining('is not the expected one') } });
    expect(await nveRow('tor12')).toMatchObject({ registered: false });

    // A session's change for the device: its wait ends with SSH's words long before its deadline, and
    // the job is not retried either.
    const revision = await p.store.setContribution('tor12', 's1', vlans(10));
    await p.port.request([{ device: 'tor12', revision }], { sessionId: 's1' });
    await expect(p.port.waitApplied([{ device: 'tor12', revision }], { deadlineMs: 60_000, sessionId: 's1' })).rejects.toMatchObject({
      code: 'device-error',
      message: expect.stringContaining('is not the expected one'),
    });
    for (let i = 0; i < 100 && (await p.queue.getJobs(['failed'])).filter((j) => j.data.device === 'tor12').length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await p.queue.getJobs(['failed'])).filter((j) => j.data.device === 'tor12').map((j) => j.attemptsMade)).toEqual([1, 1]);
    expect(await p.store.reachability('tor12')).toBeNull();
  }, 120_000);

  it('device status of an unknown device says so', async () => {
    const r = await nvo(['device', 'status', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("device 'nope' not found");
  });
});
