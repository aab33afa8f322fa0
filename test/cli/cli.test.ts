// The `nvo` executable as users run it: a child process on the real Redis, under this test's prefix.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { expectRefused, NVO_BIN, runNvo } from '../support/nvo-cli.ts';

const LAB = new URL('../../lab/inventory.yaml', import.meta.url).pathname;

let t: TestRedis;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nvo-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  t = await testRedis();
});
afterEach(async () => {
  await t.cleanup();
});

const nvo = (args: string[], env: Record<string, string> = {}) => runNvo(args, { NVO_PREFIX: t.prefix, NVO_ADMIN_TOKEN: '', ...env });

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A command that must fail with `code` and one stderr line matching `line`, changing nothing. */
const fails = (args: string[], code: number, line: RegExp) => expectRefused(nvo, () => t.snapshot(), args, code, line);

/** Like `fails`, for input with several faults: every one shown, the first on the `nvo: error:` line
 *  and one indented line for each further one, in `lines`' order. */
async function failsAll(args: string[], code: number, lines: RegExp[]): Promise<void> {
  const before = await t.snapshot();
  const r = await nvo(args);
  expect(r.code, r.stderr).toBe(code);
  const got = r.stderr.trimEnd().split('\n');
  expect(got, r.stderr).toHaveLength(lines.length);
  expect(got[0]).toMatch(/^nvo: error: /);
  got.slice(1).forEach((l) => expect(l).toMatch(/^ {2}\S/));
  lines.forEach((re, i) => expect(got[i]).toMatch(re));
  expect(await t.snapshot()).toBe(before);
}

describe('nvo CLI', () => {
  it('masks device passwords (show, list, add --json, export) unless --show-secrets; a mask applied back keeps the stored password', async () => {
    const PW = 'S3cret-pw_0';
    const add = await nvo(['device', 'add', 'tor9', '--role', 'tor', '--driver', 'netconf', '--dialect', 'openconfig', '--vtep', '203.0.113.9', '--host', '127.0.0.1', '--username', 'u', '--password', PW, '--host-key-check', 'off', '--json']);
    expect(add.code, add.stderr).toBe(0);
    const stored = await t.redis.hget(t.k.inventory('device'), 'tor9');
    expect(JSON.parse(stored!).management.password).toBe(PW);
    const outputs = [add, await nvo(['device', 'show', 'tor9', '--json']), await nvo(['device', 'show', 'tor9']), await nvo(['device', 'list', '--json']), await nvo(['export']), await nvo(['export', '--json'])];
    for (const r of outputs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(PW);
    }
    expect(JSON.parse(outputs[1]!.stdout).management).toMatchObject({ username: 'u', password: '***' });
    expect(outputs[2]!.stdout).toMatch(/^ {2}password: "\*\*\*"$/m);
    expect(JSON.parse(outputs[3]!.stdout)[0].management.password).toBe('***');
    expect(JSON.parse((await nvo(['device', 'show', 'tor9', '--json', '--show-secrets'])).stdout).management.password).toBe(PW);
    expect(JSON.parse((await nvo(['device', 'list', '--json', '--show-secrets'])).stdout)[0].management.password).toBe(PW);
    expect((await nvo(['export', '--show-secrets'])).stdout).toContain(`password: ${PW}`);

    // Round trips: the exported file applied as is changes nothing; edited, it keeps the password.
    const exported = file('export.yaml', outputs[4]!.stdout);
    const before = await t.snapshot();
    const same = await nvo(['apply', '-f', exported]);
    expect(same, same.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^no changes/) });
    expect(await t.snapshot()).toBe(before);
    const edited = await nvo(['apply', '-f', file('edited.yaml', outputs[4]!.stdout.replace('vtep: 203.0.113.9', 'vtep: 203.0.113.19'))]);
    expect(edited, edited.stderr).toMatchObject({ code: 0, stdout: 'replaced device tor9\n' });
    expect(JSON.parse((await t.redis.hget(t.k.inventory('device'), 'tor9'))!).management).toMatchObject({ password: PW });
    expect(JSON.parse((await t.redis.hget(t.k.inventory('device'), 'tor9'))!).vtep).toBe('203.0.113.19');
    const shown = file('tor9.json', outputs[1]!.stdout);
    const replaced = await nvo(['device', 'add', '-f', shown, '--replace']);
    expect(replaced, replaced.stderr).toMatchObject({ code: 0, stdout: 'replaced device tor9\n' });
    expect(JSON.parse((await t.redis.hget(t.k.inventory('device'), 'tor9'))!).management.password).toBe(PW);
    // A new device has no stored password for the mask to keep.
    await fails(['device', 'add', 'tor8', '-f', file('tor8.json', outputs[1]!.stdout.replace('"tor9"', '"tor8"'))], 2, /management\.password: '\*\*\*' is the mask the CLI prints for a password/);
  });

  it('adds, lists, shows and removes a tenant from flags', async () => {
    const add = await nvo(['tenant', 'add', 'acme', '--name', 'Acme', '--subnet', '192.0.2.0/24', '--gateway', '192.0.2.1', '--multicast', '--encap', 'vxlan,geneve']);
    expect(add, add.stderr).toMatchObject({ code: 0, stdout: 'created tenant acme\n' });
    const listed = await nvo(['tenant', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([{ cid: 'acme', name: 'Acme', subnet: '192.0.2.0/24', gateway: '192.0.2.1', multicast: true, encapsulations: ['vxlan', 'geneve'] }]);
    const table = await nvo(['tenant', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^CID\s+NAME\s+SUBNET\s+GATEWAY\s+MCAST\s+ENCAPS$/);
    expect(table.stdout).toMatch(/acme\s+Acme\s+192\.0\.2\.0\/24\s+192\.0\.2\.1\s+yes\s+vxlan,geneve/);
    const rm = await nvo(['tenant', 'rm', 'acme']);
    expect(rm).toMatchObject({ code: 0, stdout: 'deleted tenant acme\n' });
    expect(await t.redis.hlen(t.k.inventory('tenant'))).toBe(0);
    await fails(['tenant', 'show', 'acme'], 1, /tenant 'acme' not found/);
  });

  it('applies the example inventory, then reports no change; --dry-run writes nothing', async () => {
    const first = await nvo(['apply', '-f', LAB]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      'created tenant acme',
      'created tenant globex',
      'created device tgw1',
      'created device tor1',
      'created device tor2',
      'created device tor3',
      'created device wan1',
      'created pod pod1',
      'created pod pod2',
      'created CID mapping acme',
      'created CID mapping globex',
    ]);
    const again = await nvo(['apply', '-f', LAB, '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ dryRun: false, changes: [] });

    const edited = readFileSync(LAB, 'utf8').replace('name: Globex\n', 'name: Globex Inc\n').replace(/\n {2}- id: pod2\n( {4}.*\n)+/, '\n');
    const before = await t.snapshot();
    const dry = await nvo(['apply', '--dry-run', '-f', file('edited.yaml', edited)]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('would replace tenant globex\nwould delete pod pod2\n2 changes (dry run: nothing was written)\n');
    expect(await t.snapshot()).toBe(before);
  });

  it('refuses bad input with one line naming the field, exit 2, and changes nothing', async () => {
    await nvo(['apply', '-f', LAB]);
    await fails(['tenant', 'add', 'x', '--name', 'X', '--subnet', '192.0.2.0', '--gateway', '192.0.2.1'], 2, /^nvo: error: invalid tenant: subnet: needs a prefix length/);
    await fails(['tenant', 'add', 'x', '--name', 'X', '--subnet', '192.0.2.0/24', '--gateway', '203.0.113.1'], 2, /invalid tenant: gateway: 203\.0\.113\.1 is outside the subnet 192\.0\.2\.0\/24/);
    for (const vlan of ['0', '4095', '5000']) {
      await fails(['pod', 'add', 'pod2', '--replace', '--tors', 'tor3', '--wan-gw', 'wan1', '--tor-gw', 'tgw1', '--vlans', `1-100,${vlan}`], 2, new RegExp(`invalid pod: vlanRanges\\[1\\]: VLAN: ${vlan} is outside 1\\.\\.4094`));
    }
    await fails(['tenant', 'add', 'acme', '--name', 'Again', '--subnet', '192.0.2.0/24', '--gateway', '192.0.2.1'], 1, /tenant 'acme' already exists/);
    await fails(['pod', 'add', 'pod3', '--tors', 'tor9', '--wan-gw', 'wan1', '--tor-gw', 'tgw1'], 2, /invalid pod: tors\[0\]: no device 'tor9'/);
    await fails(['device', 'rm', 'tor1'], 1, /device 'tor1' is still listed by pod 'pod1'/);
    await fails(['device', 'add', 'tor9', '--role', 'tor', '--driver', 'netconf', '--dialect', 'ios', '--vtep', '203.0.113.9', '--host', '127.0.0.1', '--username', 'u', '--password', 'p'], 2, /invalid device: dialect: unknown dialect 'ios'; one of /);

    const typo = readFileSync(LAB, 'utf8').replace('    subnet: 198.51.100.0/24', '    subnett: 198.51.100.0/24');
    const line = typo.split('\n').findIndex((l) => l.includes('subnett')) + 1;
    const typoFile = file('typo.yaml', typo);
    // The typo also leaves `subnet` missing: both are said, the typo (the cause) first.
    await failsAll(['apply', '-f', typoFile], 2, [new RegExp(`^nvo: error: ${typoFile}:${line}: invalid inventory: tenants\\[1\\]\\.subnett: unknown field$`), /^ {2}tenants\[1\]\.subnet: is required$/]);
    await fails(['apply', '-f', file('broken.json', '{"tenants": [}')], 2, /broken\.json:1: not valid YAML or JSON/);
    await fails(['tenant', 'add', '-f', file('t.yaml', 'cid: t1\nname: T\nsubnet: 192.0.2.0/24\ngateway: 192.0.2.1\nmcast: true\n')], 2, /t\.yaml:5: invalid tenant: mcast: unknown field$/m);
    await fails(['tenant', 'frobnicate'], 2, /unknown command 'frobnicate'/);
  });

  it('shows every issue of bad input, not just the first: one indented line for each after the first', async () => {
    await nvo(['apply', '-f', LAB]);
    // Three faults in one document: a typo (which leaves `subnet` missing), a port out of range.
    const doc = readFileSync(LAB, 'utf8').replace('    subnet: 198.51.100.0/24', '    subnett: 198.51.100.0/24').replace('port: 18301', 'port: 99999');
    expect(doc).toMatch(/port: 99999/);
    await failsAll(['apply', '-f', file('bad.yaml', doc)], 2, [
      /^nvo: error: \S*bad\.yaml:\d+: invalid inventory: tenants\[1\]\.subnett: unknown field$/,
      /^ {2}tenants\[1\]\.subnet: is required$/,
      /^ {2}devices\[\d+\]\.management\.port: must be at most 65535$/,
    ]);
    // An enum names all its values (not "(and 1 more)", which read like a fourth role).
    await failsAll(['device', 'add', 'tor9', '--role', 'spine', '--driver', 'netconf', '--dialect', 'openconfig', '--vtep', '203.0.113.99', '--host', '127.0.0.1', '--vlans', '100-5000'], 2, [
      /^nvo: error: invalid device: role: must be one of "tor", "wan-gw", "tor-gw"$/,
      /^ {2}management\.username: is required$/,
      /^ {2}vlanRanges\[0\]: .*5000 is outside 1\.\.4094$/,
    ]);
  });

  it('names agent options by their flags, and says "cannot read" for a missing --config (exit 2)', async () => {
    await failsAll(['agent'], 2, [/^nvo: error: invalid agent options: --nve: is required$/, /^ {2}--proxy: is required$/, /^ {2}--secret-file: is required$/]);
    await failsAll(['agent', '--nve', 'h1', '--proxy', 'ws://127.0.0.1:9', '--secret-file', LAB, '--vtep', '192.0.2.1'], 2, [/^nvo: error: invalid agent options: --data-plane: is required with --vtep: give --data-plane linux$/]);
    await fails(['agent', '--nve', 'h1', '--proxy', 'ws://127.0.0.1:9', '--secret-file', LAB, '--data-plane', 'dpdk'], 2, /^nvo: error: invalid agent options: --data-plane: must be recorder or linux$/m);
    const missing = join(dir, 'nonexistent.yaml');
    for (const cmd of ['agent', 'gateway-agent']) await fails([cmd, '--config', missing], 2, new RegExp(`^nvo: error: config: cannot read ${missing}: ENOENT$`, 'm'));
    await fails(['apply', '-f', missing], 2, /cannot read/);
    // A field the file should have given is named as in the file.
    const cfg = file('agent.yaml', 'proxies: [ws://127.0.0.1:9]\nsecret: 0123456789abcdef\n');
    await fails(['agent', '--config', cfg], 2, new RegExp(`^nvo: error: invalid agent config ${cfg}: nve: is required$`, 'm'));
  });

  it('lists ids in the order people count them: tor2 before tor10 (device list, as a table and as JSON)', async () => {
    for (const n of [10, 2, 1]) {
      const r = await nvo(['device', 'add', `tor${n}`, '--role', 'tor', '--driver', 'xmpp', '--jid', `tor${n}@nvo3.test`, '--vtep', `203.0.113.${100 + n}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    const ids = (await nvo(['device', 'list'])).stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]);
    expect(ids).toEqual(['tor1', 'tor2', 'tor10']);
    expect((JSON.parse((await nvo(['device', 'list', '--json'])).stdout) as { id: string }[]).map((d) => d.id)).toEqual(['tor1', 'tor2', 'tor10']);
  });

  it('refuses a second hNVE on a VTEP in use: exit 1 naming who has it, nothing stored', async () => {
    await nvo(['apply', '-f', LAB]);
    const secret = file('secret', 'secret-of-an-hnve-0123\n');
    const add = (id: string, vtep: string) => ['nve', 'add', id, '--pod', 'pod1', '--vtep', vtep, '--secret-file', secret];
    const ok = await nvo(add('h1', '192.0.2.201'));
    expect(ok.code, ok.stderr).toBe(0);
    await fails(add('h2', '192.0.2.201'), 1, /^nvo: error: VTEP 192\.0\.2\.201 is already used by hNVE 'h1'$/m);
    await fails(add('h2', '203.0.113.11'), 1, /^nvo: error: VTEP 203\.0\.113\.11 is already used by device 'tor1'$/m);
    const doc = readFileSync(LAB, 'utf8').replace('vtep: 203.0.113.12', 'vtep: 192.0.2.201');
    await fails(['apply', '-f', file('dup-vtep.yaml', doc)], 1, /^nvo: error: VTEP 192\.0\.2\.201 is already used by hNVE 'h1'$/m);
  });

  it('says at once when Redis cannot be reached (exit 1)', async () => {
    const r = await nvo(['tenant', 'list'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nvo: error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });

  it('serves the admin API: refuses to start without a token, and with one needs it for writes', async () => {
    await fails(['serve', '--listen', '127.0.0.1:0'], 2, /NVO_ADMIN_TOKEN/);
    const child = spawn(process.execPath, [NVO_BIN, 'serve', '--listen', '127.0.0.1:0'], {
      env: { ...process.env, NVO_PREFIX: t.prefix, NVO_ADMIN_TOKEN: 'cli-test-token', NVO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /admin API on (http:\/\/[^ ]+) /.exec(err);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      const tenant = JSON.stringify({ cid: 'acme', name: 'Acme', subnet: '192.0.2.0/24', gateway: '192.0.2.1' });
      const anon = await fetch(`${base}/tenants`, { method: 'POST', body: tenant, headers: { 'content-type': 'application/json' } });
      expect(anon.status).toBe(401);
      const ok = await fetch(`${base}/tenants`, { method: 'POST', body: tenant, headers: { 'content-type': 'application/json', authorization: 'Bearer cli-test-token' } });
      expect(ok.status).toBe(201);
      expect(((await (await fetch(`${base}/tenants`)).json()) as { items: unknown[] }).items).toHaveLength(1);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
