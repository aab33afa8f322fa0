// `nvo vni|device|pod|tenant` list/show/rm/add on the example inventory, through the real executable on
// the real Redis. What they print is checked against lab/inventory.yaml as parsed here, so an edit to
// the example moves the expectations with it.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { expectRefused, runNvo } from '../support/nvo-cli.ts';

const LAB = new URL('../../lab/inventory.yaml', import.meta.url).pathname;

interface LabVrf {
  name: string;
  rd: string;
  importTargets: string[];
  exportTargets: string[];
}
interface LabDevice {
  id: string;
  role: string;
  driver: string;
  dialect?: string;
  vtep: string;
  jid?: string;
  ngMvpn?: boolean;
  management?: { host: string; port: number };
  vlanRanges: string[];
  mcastGroups?: string[];
}
interface LabPod {
  id: string;
  vlanRanges: string[];
  tors: string[];
  wanGateway: string;
  torGateway: string;
  routing?: string;
}
interface Lab {
  tenants: { cid: string }[];
  devices: LabDevice[];
  pods: LabPod[];
  vnis: { cid: string; vni?: number; vrf: LabVrf }[];
}
const lab = parse(readFileSync(LAB, 'utf8')) as Lab;
const byId = <T>(items: T[], key: (x: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)));

// The store keeps route targets without the optional RFC 4360 `target:` prefix (src/model/fields.ts).
const rt = (s: string) => s.replace(/^target:/, '');
const storedMapping = (m: Lab['vnis'][number]) => ({ ...m, vrf: { ...m.vrf, importTargets: m.vrf.importTargets.map(rt), exportTargets: m.vrf.exportTargets.map(rt) } });
// A pod that does not say where tenant gateways live gets them at the gateway (src/model/pod.ts).
const storedPod = (p: LabPod) => ({ ...p, routing: p.routing ?? 'gateway' });

let t: TestRedis;
beforeEach(async () => {
  t = await testRedis();
  const r = await nvo(['apply', '-f', LAB]);
  expect(r.code, r.stderr).toBe(0);
});
afterEach(() => t.cleanup());

const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: t.prefix, NVO_ADMIN_TOKEN: '' });

async function ok(args: string[]): Promise<string> {
  const r = await nvo(args);
  expect(r.code, `nvo ${args.join(' ')}: ${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** A command that must fail with `code` and one stderr line matching `line`, changing nothing. */
const fails = (args: string[], code: number, line: RegExp) => expectRefused(nvo, () => t.snapshot(), args, code, line);

/** An aligned table as header + rows of cells (columns are two or more spaces apart). */
function table(text: string): { header: string[]; rows: string[][] } {
  const [head, ...rows] = text.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
  return { header: head!, rows };
}

describe('nvo vni', () => {
  it('lists and shows the CID mappings of the inventory', async () => {
    const expected = byId(lab.vnis, (m) => m.cid).map(storedMapping);
    expect(expected.length).toBeGreaterThan(1);
    expect(JSON.parse(await ok(['vni', 'list', '--json']))).toEqual(expected);
    for (const m of expected) expect(parse(await ok(['vni', 'show', m.cid]))).toEqual(m);
    const { header, rows } = table(await ok(['vni', 'list']));
    expect(header).toEqual(['CID', 'VNI', 'VRF', 'RD', 'IMPORT', 'EXPORT']);
    expect(rows).toEqual(expected.map((m) => [m.cid, String(m.vni ?? 'pool'), m.vrf.name, m.vrf.rd, m.vrf.importTargets.join(','), m.vrf.exportTargets.join(',')]));
  });

  it('removes exactly the one mapping, and refuses bad ones with one line naming the field', async () => {
    const given = lab.vnis.find((m) => m.vni !== undefined)!;
    const other = lab.vnis.find((m) => m.cid !== given.cid)!;
    const free = given.vni! + 1000;
    // Numeric flags are checked where they are parsed, naming the flag and what was given.
    await fails(['vni', 'add', other.cid, '--replace', '--vni', '0', '--rd', '65000:9', '--rt', '65000:9'], 2, /^nvo: error: --vni: must be an integer 1\.\.16777215, got '0'$/m);
    await fails(['vni', 'add', other.cid, '--replace', '--vni', 'abc', '--rd', '65000:9', '--rt', '65000:9'], 2, /^nvo: error: --vni: must be an integer 1\.\.16777215, got 'abc'$/m);
    await fails(['vni', 'add', other.cid, '--replace', '--vni', '5e3', '--rd', '65000:9', '--rt', '65000:9'], 2, /^nvo: error: --vni: must be an integer 1\.\.16777215, got '5e3'$/m);
    await fails(['device', 'add', 'tor9', '--role', 'tor', '--driver', 'netconf', '--dialect', 'openconfig', '--vtep', '203.0.113.9', '--host', '127.0.0.1', '--port', '70000', '--username', 'u', '--password', 'p'], 2, /^nvo: error: --port: must be an integer 1\.\.65535, got '70000'$/m);
    await fails(['worker', '--concurrency', 'many'], 2, /^nvo: error: --concurrency: must be an integer 1\.\.10000, got 'many'$/m);
    await fails(['vni', 'add', other.cid, '--replace', '--vni', String(free), '--rd', 'bogus', '--rt', '65000:9'], 2, /invalid CID mapping: vrf\.rd: 'bogus' is not ASN:number or IPv4:number/);
    await fails(['vni', 'add', 'nosuch', '--vni', String(free), '--rd', '65000:9', '--rt', '65000:9'], 2, /invalid CID mapping: cid: no tenant with CID 'nosuch'/);
    await fails(['vni', 'add', other.cid, '--replace', '--vni', String(given.vni), '--rd', '65000:9', '--rt', '65000:9'], 1, new RegExp(`VNI ${given.vni} is already given to CID '${given.cid}'`));
    await fails(['vni', 'add', given.cid, '--vni', String(free), '--rd', '65000:9', '--rt', '65000:9'], 1, new RegExp(`CID mapping '${given.cid}' already exists`));
    await fails(['vni', 'rm', 'nosuch'], 1, /CID mapping 'nosuch' not found/);

    const hash = t.k.inventory('vni');
    const before = (await t.snapshot()).split('\n');
    const mappings = await t.redis.hgetall(hash);
    expect(await ok(['vni', 'rm', given.cid])).toBe(`deleted CID mapping ${given.cid}\n`);
    // Every other key is as it was; the mappings hash lost that one field and nothing else.
    const after = (await t.snapshot()).split('\n');
    const notHash = (lines: string[]) => lines.filter((l) => !l.startsWith(`${hash} `));
    expect(notHash(after)).toEqual(notHash(before));
    const { [given.cid]: removed, ...rest } = mappings;
    expect(removed).toBeDefined();
    expect(await t.redis.hgetall(hash)).toEqual(rest);
    expect(JSON.parse(await ok(['vni', 'list', '--json']))).toEqual(byId(lab.vnis, (m) => m.cid).filter((m) => m.cid !== given.cid).map(storedMapping));
    await fails(['vni', 'show', given.cid], 1, new RegExp(`CID mapping '${given.cid}' not found`));

    // Added back from flags as the file has it, the store matches the file again.
    const vrf = given.vrf;
    expect(await ok(['vni', 'add', given.cid, '--vni', String(given.vni), '--vrf', vrf.name, '--rd', vrf.rd, '--import', vrf.importTargets.join(','), '--export', vrf.exportTargets.join(',')])).toBe(
      `created CID mapping ${given.cid}\n`,
    );
    expect(JSON.parse(await ok(['apply', '--dry-run', '--json', '-f', LAB]))).toEqual({ dryRun: true, changes: [] });
  }, 180_000); // a dozen processes on a loaded 2-core machine
});

describe('nvo device, pod and tenant: list and show', () => {
  it('lists the devices with their role, driver, VTEP, management and pools', async () => {
    const { header, rows } = table(await ok(['device', 'list']));
    expect(header).toEqual(['ID', 'ROLE', 'DRIVER', 'DIALECT', 'VTEP', 'MANAGEMENT', 'VLANS', 'GROUPS']);
    expect(rows).toEqual(
      byId(lab.devices, (d) => d.id).map((d) => [
        d.id,
        d.role + (d.ngMvpn ? ' (ng-mvpn)' : ''),
        d.driver,
        d.dialect ?? '-',
        d.vtep,
        d.management ? `${d.management.host}:${d.management.port}` : d.jid!,
        d.vlanRanges.join(','),
        d.mcastGroups?.join(',') ?? '-',
      ]),
    );
    expect(JSON.parse(await ok(['device', 'list', '--json'])).map((d: { id: string }) => d.id)).toEqual(byId(lab.devices, (d) => d.id).map((d) => d.id));
  });

  it('shows one device in full', async () => {
    const wan1 = lab.devices.find((d) => d.id === 'wan1')!;
    expect(JSON.parse(await ok(['device', 'show', 'wan1', '--json', '--show-secrets']))).toEqual(wan1);
    // Without --show-secrets a password is the mask, everything else as stored.
    const masked = <T extends { management?: object }>(d: T) => ((d.management as { password?: string } | undefined)?.password ? { ...d, management: { ...d.management, password: '***' } } : d);
    expect(JSON.parse(await ok(['device', 'show', 'wan1', '--json']))).toEqual(masked(wan1));
    for (const d of lab.devices) expect(parse(await ok(['device', 'show', d.id]))).toMatchObject(masked(d));
    await fails(['device', 'show', 'nosuch'], 1, /device 'nosuch' not found/);
  }, 180_000);

  it('lists and shows the pods', async () => {
    const pods = byId(lab.pods, (p) => p.id).map(storedPod);
    const { header, rows } = table(await ok(['pod', 'list']));
    expect(header).toEqual(['ID', 'VLANS', 'TORS', 'WAN-GW', 'TOR-GW', 'ROUTING']);
    expect(rows).toEqual(pods.map((p) => [p.id, p.vlanRanges.join(','), p.tors.join(','), p.wanGateway, p.torGateway, p.routing]));
    for (const p of pods) {
      expect(parse(await ok(['pod', 'show', p.id]))).toEqual(p);
      expect(JSON.parse(await ok(['pod', 'show', p.id, '--json']))).toEqual(p);
    }
    await fails(['pod', 'show', 'nosuch'], 1, /pod 'nosuch' not found/);
  });

  it('shows each tenant in full', async () => {
    for (const tenant of lab.tenants) {
      expect(parse(await ok(['tenant', 'show', tenant.cid]))).toEqual(tenant);
      expect(JSON.parse(await ok(['tenant', 'show', tenant.cid, '--json']))).toEqual(tenant);
    }
  });
});
