// `nvo device get|check` as a user runs them, against a real netconfd device: a confirmed commit that
// is never confirmed (the applying process killed -9) rolls back on the device, and check says so.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetconfServers, type NetconfServers } from '../../lab/netconf-server.ts';
import { applyToDevice } from '../../src/drivers/netconf/device-ops.ts';
import type { Device } from '../../src/model/device.ts';
import { diffConfig, emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { runNvo } from '../support/nvo-cli.ts';
import { labTor } from '../support/netconf-device.ts';

const here = dirname(fileURLToPath(import.meta.url));
let servers: NetconfServers;
let t: TestRedis;
let device: Device;

const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: t.prefix });

const want: DeviceConfig = { ...emptyConfig(), vlans: [{ id: 42, name: 'acme <&> "blue"' }], vnis: [{ vni: 5042, vlan: 42, encapsulation: 'vxlan' }] };

beforeAll(async () => {
  servers = await startNetconfServers({ count: 1 });
  t = await testRedis();
  const n = servers.instances[0]!;
  device = await new InventoryStore(t.redis, t.prefix).create('device', labTor('tor1', n, '192.0.2.11'));
  await new DeviceStateStore(t.redis, t.k).setContribution('tor1', 'session:s1', want);
});
afterAll(async () => {
  await servers?.stop();
  await t?.cleanup();
});

describe('nvo device get and check', () => {
  it('report a rolled-back confirmed commit as out of sync, then in sync once applied', async () => {
    // Apply from a process that is killed -9 between the confirmed commit and the confirming one.
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../drivers/netconf/crash-apply.ts'), JSON.stringify(device), JSON.stringify(diffConfig(emptyConfig(), want))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('COMMIT-PENDING')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code} before its commit`)));
    });
    child.kill('SIGKILL');

    // Closing the session rolls the unconfirmed commit back (RFC 6241 §8.4.1); wait until the device shows it.
    let check = await nvo(['device', 'check', 'tor1']);
    for (let i = 0; i < 50 && check.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      check = await nvo(['device', 'check', 'tor1']);
    }
    expect(check.stderr).toBe('');
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('tor1: OUT OF SYNC with desired revision 1');
    expect(check.stdout).toMatch(/missing +vlans \{"id":42/);
    expect(check.stdout).toMatch(/missing +vnis \{.*"vni":5042/);

    await applyToDevice(device, diffConfig(emptyConfig(), want));
    const get = await nvo(['device', 'get', 'tor1']);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain('acme &lt;&amp;&gt; "blue"');
    const getJson = await nvo(['device', 'get', 'tor1', '--json']);
    expect(JSON.parse(getJson.stdout)).toEqual({ ...want });

    const ok = await nvo(['device', 'check', 'tor1', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ device: 'tor1', desiredRevision: 1, inSync: true, differing: [] });

    const unknown = await nvo(['device', 'check', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("device 'nope' not found");
  }, 120_000);
});
