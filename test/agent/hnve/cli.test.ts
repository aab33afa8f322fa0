// `nvo agent --config FILE` and `nvo move` as the processes users run: the agent registers and INVITEs
// its VM from the file; the admin's move reaches the tenant proxy through Redis and prints the
// NOTIFY progress as sipfrag lines; bad files and refused moves end with the exit codes the CLI uses.
// The containerlab agent files are checked against the same schema.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../../src/agent/hnve/config.ts';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { Membership } from '../../../src/proxy/network/membership.ts';
import { Registrar } from '../../../src/proxy/tenant/registrar.ts';
import { NveStore } from '../../../src/store/nve-store.ts';
import { SECRETS, startStack, type Stack } from '../../proxy/harness.ts';
import { expectRefused, NVO_BIN, runNvo } from '../../support/nvo-cli.ts';

const CLAB = new URL('../../../lab/containerlab/agents/', import.meta.url).pathname;
const H4 = { id: 'h4', pod: 'pod1', vtep: '192.0.2.204', encapsulations: ['vxlan'], secret: 'secret-of-h4-0123456789' };
const VM = '02:00:00:00:01:01';
let s: Stack;
let dir: string;
let agentProc: ChildProcess | null = null;
let h4: HnveAgent;

const run = (args: string[]) => runNvo(args, { NVO_PREFIX: s.t.prefix, NVO_LOG_LEVEL: 'silent' });

beforeAll(async () => {
  s = await startStack();
  await new NveStore(s.t.redis, s.t.k, s.inventory).put(H4);
  dir = mkdtempSync(join(tmpdir(), 'nvo-agent-cli-'));
  h4 = new HnveAgent({ nve: 'h4', secret: H4.secret, urls: [s.url], proxy: 'tp1', dataPlane: new RecorderDataPlane(undefined, { references: true }) });
  await h4.start();
}, 30_000);

afterAll(async () => {
  if (agentProc?.pid && agentProc.exitCode === null) process.kill(agentProc.pid, 'SIGKILL');
  await h4?.stop();
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('nvo agent and nvo move', () => {
  it('nvo agent --config: a dead proxy URL first, then the live one; registers and INVITEs the file\'s VM', async () => {
    writeFileSync(join(dir, 'h1.secret'), `${SECRETS.h1}\n`);
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, ['nve: h1', 'secretFile: h1.secret', 'proxies:', '  - ws://127.0.0.1:9', `  - ${s.url}`, 'proxyId: tp1', 'dataPlane: { kind: recorder }', 'vms:', `  - { mac: "${VM}", cid: acme, port: vm1 }`, ''].join('\n'));
    agentProc = spawn(process.execPath, [NVO_BIN, 'agent', '--config', file], { env: { ...process.env, NVO_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    agentProc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const members = new Membership(s.t.redis, s.t.k);
    await expect.poll(async () => (await members.holder('acme', VM))?.nve, { timeout: 30_000 }).toBe('h1');
    await expect.poll(() => err, { timeout: 10_000 }).toMatch(/INVITE 02:00:00:00:01:01 in acme: 200 OK/);
    expect(err).toMatch(/ws:\/\/127\.0\.0\.1:9: /);
  }, 60_000);

  it('nvo move h1 --vtep (h4\'s) prints the progress and ends 200; the VM is behind h4 now', async () => {
    const r = await run(['move', 'h1', '--vtep', H4.vtep]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('SIP/2.0 202 Accepted');
    expect(lines[1]).toBe('SIP/2.0 100 Trying');
    expect(lines.at(-1)).toBe('SIP/2.0 200 OK');
    expect(lines.filter((l) => l.startsWith('SIP/2.0 183 ')).length).toBe(4);
    expect((await new Membership(s.t.redis, s.t.k).holder('acme', VM))?.vtep).toBe(H4.vtep);
    await expect.poll(() => [...h4.sessions.values()].map((x) => [x.mac, x.pending ?? null]), { timeout: 10_000 }).toEqual([[VM, null]]);
  }, 60_000);

  it('a move that cannot start says why and exits 1; bad usage exits 2', async () => {
    const none = await run(['move', 'h1', '--to', 'h4']);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/^SIP\/2.0 481 h1 has no established session to move/m);
    const cross = await run(['move', 'h4', '--to', 'h3']);
    expect(cross.code).toBe(1);
    expect(cross.stdout).toMatch(/404 h3 is not registered/);
    const noVtep = await run(['move', 'h4', '--vtep', '192.0.2.250']);
    expect(noVtep.code).toBe(1);
    expect(noVtep.stdout).toMatch(/404 no registered hNVE has VTEP 192\.0\.2\.250/);
    const both = await run(['move', 'h4', '--to', 'h1', '--vtep', '192.0.2.201']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--to: give exactly one of --to and --vtep/);
    // What the CLI checks itself, before any proxy is asked: one line each, nothing published.
    const usage: [string[], number, RegExp][] = [
      [['move', 'h4', '--to', 'h4'], 2, /--to: h4 cannot move to itself/],
      [['move', 'h4', '--vtep', '192.0.2.x'], 2, /--vtep: must be an IPv4 or IPv6 address, got '192\.0\.2\.x'/],
      [['move', 'h4', '--to', 'h1', '--timeout', '-3'], 2, /--timeout: must be a number of seconds/],
      [['move', 'nope', '--to', 'h4'], 1, /hNVE \(<hnve>\) 'nope' not found/],
      [['move', 'h4', '--to', 'nope'], 1, /hNVE \(--to\) 'nope' not found/],
    ];
    for (const [args, code, re] of usage) await expectRefused(run, () => s.durableSnapshot(), args, code, re);
  }, 60_000);

  it('nvo agent refuses a bad file with the field named, exit 2', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'nve: h1\nsecret: short\nproxies: []\n');
    const r = await run(['agent', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/proxies: name at least one tenant proxy|secret: at least 16 characters/);
    expect(agentProc!.exitCode).toBe(null);
    agentProc!.kill('SIGTERM');
    await new Promise((r) => agentProc!.once('exit', r));
  }, 30_000);

  it('nvo agent from flags alone: skips the dead --proxy, registers through the second; a bad flag is named, exit 2', async () => {
    const secretFile = join(dir, 'h2.secret');
    writeFileSync(secretFile, `${SECRETS.h2}\n`);
    const flags = ['agent', '--nve', 'h2', '--secret-file', secretFile, '--proxy', 'ws://127.0.0.1:9', '--proxy', s.url, '--data-plane', 'recorder'];
    const registrar = new Registrar(s.t.redis, s.t.k);
    expect(await registrar.get('h2')).toBeNull();
    const child = spawn(process.execPath, [NVO_BIN, ...flags], { env: { ...process.env, NVO_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await expect.poll(async () => (await registrar.get('h2'))?.proc, { timeout: 30_000 }).toBe(s.tenant.deps.proc);
      await expect.poll(() => err, { timeout: 10_000 }).toContain(`agent h2: registered at ${s.url}`);
      // The first URL was tried, and failed, before the second.
      expect(err.indexOf('agent h2: ws://127.0.0.1:9: ')).toBeGreaterThanOrEqual(0);
      expect(err.indexOf('agent h2: ws://127.0.0.1:9: ')).toBeLessThan(err.indexOf('registered at'));
      expect((await registrar.get('h2'))!.vtep).toBe('192.0.2.202');
      expect(s.tenant.server.connectionOf('h2')).toBeDefined();
    } finally {
      process.kill(child.pid!, 'SIGTERM');
    }
    expect(await exited).toBe(0);
    // The connection was this process's: it goes with it (the registration stays until it expires).
    await expect.poll(() => s.tenant.server.connectionOf('h2'), { timeout: 10_000 }).toBeUndefined();
    const registeredAt = (await registrar.get('h2'))!.registeredAt;

    const bad: [string[], RegExp][] = [
      [['--proxy', 'http://127.0.0.1:9'], /^nvo: error: invalid agent options: --proxy: must be a ws:\/\/ or wss:\/\/ URL\n$/],
      [['--proxy', s.url, '--data-plane', 'kernel'], /^nvo: error: invalid agent options: --data-plane: must be recorder or linux\n$/],
      [['--proxy', s.url, '--data-plane', 'linux', '--vtep', '192.0.2.999'], /^nvo: error: invalid agent options: --vtep: must be an IPv4 or IPv6 address\n$/],
    ];
    for (const [more, re] of bad) {
      const r = await run(['agent', '--nve', 'h2', '--secret-file', secretFile, ...more]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    const noSecret = await run(['agent', '--nve', 'h2', '--secret-file', join(dir, 'missing.secret'), '--proxy', s.url]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/^nvo: error: --secret-file: cannot read .*missing\.secret: ENOENT\n$/);
    // Refused before connecting: no new registration.
    expect((await registrar.get('h2'))!.registeredAt).toBe(registeredAt);
  }, 60_000);

  it('the containerlab agent files are valid agent configurations', () => {
    const files = readdirSync(CLAB).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(['hv1.yaml', 'hv2.yaml', 'hv3.yaml']);
    for (const f of files) {
      const c = loadAgentConfig(join(CLAB, f));
      expect(c.nve).toBe(f.replace('.yaml', ''));
      expect(c.dataPlane).toEqual({ kind: 'linux', underlay: 'eth1' });
    }
  });
});
