// `nvo worker` and `nvo device diff|sync|status` as a user runs them: the real CLI in processes of
// its own, a real netconfd device, drift made behind nvo's back with a direct NETCONF edit.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetconfServers, type NetconfServers } from '../../lab/netconf-server.ts';
import { applyToDevice, getRunning } from '../../src/drivers/netconf/device-ops.ts';
import type { Device } from '../../src/model/device.ts';
import { emptyConfig, normalizeConfig } from '../../src/model/device-config.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { NVO_BIN, runNvo } from '../support/nvo-cli.ts';
import { labTor } from '../support/netconf-device.ts';

let servers: NetconfServers;
let t: TestRedis;
let inventory: InventoryStore;
let device: Device;
let worker: ChildProcess | null = null;

const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: t.prefix, NVO_LOG_LEVEL: 'warn' });

beforeAll(async () => {
  servers = await startNetconfServers({ count: 1 });
  t = await testRedis();
  inventory = new InventoryStore(t.redis, t.prefix);
  const n = servers.instances[0]!;
  device = await inventory.create('device', labTor('tor1', n, '192.0.2.11'));
});
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
  }
  await servers?.stop();
  await t?.cleanup();
});

describe('nvo worker and nvo device sync/diff/status', () => {
  it('diff shows the pending edit, the worker applies it, sync repairs drift, status tells', async () => {
    const p = new Pipeline({ redis: t.redis, k: t.k, drivers: new DriverRegistry(), lookup: async () => null, workers: 0 }).start();
    try {
      const want = { ...emptyConfig(), vlans: [{ id: 10, name: 'tenant-a' }], vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan' }] };
      const revision = await p.store.setContribution('tor1', 's1', want);

      const diff = await nvo(['device', 'diff', 'tor1']);
      expect(diff.code).toBe(0);
      expect(diff.stdout).toContain('tenant-a');
      expect(diff.stdout).toMatch(/<vlan[ >]/);
      expect((await getRunning(device)).config).toEqual(emptyConfig());

      worker = spawn(process.execPath, [NVO_BIN, 'worker', '--concurrency', '2', '--check-interval', '0'], { env: { ...process.env, NVO_PREFIX: t.prefix, NVO_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve) => {
        let err = '';
        worker!.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('sync worker')) resolve();
        });
      });
      await p.port.request([{ device: 'tor1', revision }], { sessionId: 's1' });
      await p.port.waitApplied([{ device: 'tor1', revision }], { deadlineMs: 60_000, sessionId: 's1' });
      expect((await getRunning(device)).config).toEqual(normalizeConfig(want));

      // Someone adds a VLAN at the console, behind nvo's back.
      await applyToDevice(device, { merge: { ...emptyConfig(), vlans: [{ id: 99, name: 'rogue' }] }, remove: emptyConfig() });
      expect((await getRunning(device)).config.vlans.map((v) => v.id)).toEqual([10, 99]);

      const sync = await nvo(['device', 'sync', 'tor1', '--json']);
      expect(sync.stderr).toBe('');
      expect(sync.code).toBe(0);
      expect(JSON.parse(sync.stdout)).toMatchObject({ device: 'tor1', drift: true, commits: 1, status: { syncState: 'in-sync', appliedRevision: revision } });
      expect((await getRunning(device)).config).toEqual(normalizeConfig(want));

      const again = await nvo(['device', 'sync', 'tor1']);
      expect(again.stdout.trim()).toBe(`tor1: in-sync at revision ${revision}; no drift; 0 commit(s)`);
      // A repair that found nothing to change still proves the device answers (nvo show nves: reached).
      expect(await p.store.reachability('tor1')).toMatchObject({ via: 'check' });

      // The store counts commits per recorded revision: the repair at an unchanged revision is in /metrics only.
      const status = await nvo(['device', 'status', '--json']);
      expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ device: 'tor1', desiredRevision: revision, appliedRevision: revision, syncState: 'in-sync', commits: 1, refused: [] })]);

      const unknown = await nvo(['device', 'sync', 'nope']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("device 'nope' not found");
    } finally {
      await p.close();
    }
  }, 180_000);
});
