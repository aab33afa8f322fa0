// nvo nve add|list|show|rm through bin/nvo.js on real Redis: the secret comes from a file, is used
// (the NVE can authenticate with it) and is never printed; bad input names the field and changes nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { INVENTORY } from './harness.ts';
import { ProxyProcesses } from './multi-process-helpers.ts';

const SECRET = 'cli-provisioned-secret-0123';
let t: TestRedis;
let inventory: InventoryStore;
let procs: ProxyProcesses;

beforeAll(async () => {
  t = await testRedis();
  inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply(INVENTORY);
  procs = new ProxyProcesses(t.prefix);
});

afterAll(async () => {
  await procs?.stopAll();
  await inventory?.close();
  await t?.cleanup();
});

describe('nvo nve', () => {
  it('adds, lists, shows, replaces and removes hNVEs without ever printing a secret', async () => {
    const secretFile = join(procs.dir, 'h7.secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const add = await procs.run(['nve', 'add', 'h7', '--pod', 'pod1', '--vtep', '192.0.2.207', '--encap', 'vxlan,nvgre', '--tenant-proxy', 'tp1', '--secret-file', secretFile, '--json']);
    expect(add.stderr).toBe('');
    expect(JSON.parse(add.stdout)).toEqual({ id: 'h7', pod: 'pod1', vtep: '192.0.2.207', encapsulations: ['vxlan', 'nvgre'], tenantProxy: 'tp1' });
    // Stored with the file's secret (its last newline dropped), which the digest will use.
    expect(await new NveStore(t.redis, t.k, inventory).secretOf('h7')).toBe(SECRET);

    const list = await procs.run(['nve', 'list']);
    expect(list.stdout).toMatch(/^h7 +pod1 +192\.0\.2\.207 +vxlan,nvgre +tp1 +no +-$/m);
    const show = await procs.run(['nve', 'show', 'h7', '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'h7', registration: null, sessions: [] });
    for (const out of [add.stdout, list.stdout, show.stdout, (await procs.run(['nve', 'show', 'h7'])).stdout]) expect(out).not.toContain(SECRET);

    const again = await procs.run(['nve', 'add', 'h7', '--pod', 'pod1', '--vtep', '192.0.2.207', '--secret-file', secretFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/hNVE 'h7' already exists/);
    const moved = await procs.run(['nve', 'add', 'h7', '--pod', 'pod2', '--vtep', '198.51.100.207', '--secret-file', secretFile, '--replace']);
    expect(moved.stdout).toBe('replaced hNVE h7\n');
    expect((await new NveStore(t.redis, t.k, inventory).show('h7')).pod).toBe('pod2');

    const rm = await procs.run(['nve', 'rm', 'h7']);
    expect(rm.stdout).toBe('deleted hNVE h7\n');
    expect(await t.redis.hexists(t.k.hnves, 'h7')).toBe(0);
  });

  it('refuses bad input naming the field, exit 2, and stores nothing', async () => {
    const short = join(procs.dir, 'short.secret');
    writeFileSync(short, 'too-short\n');
    const good = join(procs.dir, 'good.secret');
    writeFileSync(good, SECRET);
    const before = await t.snapshot();
    const cases: [string[], RegExp][] = [
      [['nve', 'add', 'h8', '--pod', 'pod1', '--vtep', '192.0.2.300', '--secret-file', good], /invalid hNVE: vtep: must be an IPv4 or IPv6 address/],
      [['nve', 'add', 'h8', '--pod', 'pod1', '--vtep', '192.0.2.208', '--secret-file', short], /invalid hNVE: secret: at least 16 characters/],
      [['nve', 'add', 'h8', '--pod', 'pod9', '--vtep', '192.0.2.208', '--secret-file', good], /invalid hNVE: pod: no pod 'pod9'/],
      [['nve', 'add', 'h8', '--pod', 'pod1', '--vtep', '192.0.2.208', '--secret-file', join(procs.dir, 'absent')], /--secret-file: cannot read .*absent: ENOENT/],
      [['nve', 'add', 'h8', '--pod', 'pod1', '--vtep', '192.0.2.208', '--encap', 'vxlan,ipip', '--secret-file', good], /invalid hNVE: encapsulations\[1\]/],
    ];
    for (const [args, why] of cases) {
      const r = await procs.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toContain(SECRET);
    }
    expect(await t.snapshot()).toBe(before);
    const missing = await procs.run(['nve', 'show', 'h8']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/hNVE 'h8' not found/);
  });
});
