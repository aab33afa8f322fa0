// containerlab topologies → nvo's inventory: the example files convert to inventories the real
// store (real Redis, test prefix) accepts, dry run then apply, idempotently; bad topologies get an
// error naming the node, the field and the line; and the CLI does it all as a child process.
// containerlab itself (and Docker) is not run here: deployment is not checked by these tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dialectIssues } from '../../src/api/dialect-check.ts';
import { dialectNames } from '../../src/drivers/netconf/dialects/registry.ts';
import { NvoError } from '../../src/errors.ts';
import { inventoryFromClab, type FromClabOptions } from '../../src/lab/clab/convert.ts';
import { CLAB_KINDS, clabKind, supportedKinds } from '../../src/lab/clab/kinds.ts';
import { inventoryYaml } from '../../src/lab/clab/output.ts';
import { parseClabTopology, readClabTopology } from '../../src/lab/clab/topology.ts';
import { cidrContains, parseCidr, type Cidr } from '../../src/model/net.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { runNvo } from '../support/nvo-cli.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLAB_DIR = join(ROOT, 'lab/containerlab');
const REFERENCE = join(CLAB_DIR, 'nvo-reference.clab.yml');
const SMALL = join(CLAB_DIR, 'nvo-small.clab.yml');
const examples = readdirSync(CLAB_DIR)
  .filter((f) => f.endsWith('.clab.yml'))
  .map((f) => join(CLAB_DIR, f));

let t: TestRedis;
let store: InventoryStore;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nvo-clab-'));
  const found = spawnSync('sh', ['-c', 'command -v containerlab || command -v clab'], { encoding: 'utf8' }).stdout.trim();
  // Said every run, so nobody reads a green run as "the topologies deploy".
  console.log(found ? `containerlab found at ${found}, but these tests do not deploy: deployment is not checked` : 'containerlab is not installed: the topologies are checked against nvo\'s reading of them only; deployment is not checked');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  t = await testRedis();
  store = new InventoryStore(t.redis, t.prefix, { deviceRules: dialectIssues });
});
afterEach(async () => {
  await store.close();
  await t.cleanup();
});

const convert = (text: string, opts?: FromClabOptions) => inventoryFromClab(parseClabTopology(text, 'x.clab.yml'), opts);

function fails(text: string, opts?: FromClabOptions): NvoError {
  let err: unknown = null;
  try {
    convert(text, opts);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NvoError);
  expect((err as NvoError).code).toBe('invalid-input');
  return err as NvoError;
}

/** 1-based line of the first `needle` after the line with `after` (or from the top). */
function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  const from = after === undefined ? 0 : lines.findIndex((l) => l.includes(after));
  return lines.findIndex((l, i) => i >= from && l.includes(needle)) + 1;
}

describe('the example topologies', () => {
  it('are found', () => {
    expect(examples).toEqual(expect.arrayContaining([REFERENCE, SMALL]));
  });

  for (const file of [REFERENCE, SMALL]) {
    it(`${file.split('/').pop()} converts to an inventory the store accepts: dry run, apply, apply again`, async () => {
      const r = inventoryFromClab(readClabTopology(file));
      // What is printed is what applies: round-trip through the YAML text.
      const doc = parse(inventoryYaml(r)) as unknown;
      const before = await t.snapshot();
      const dry = await store.apply(doc, { dryRun: true });
      expect(await t.snapshot()).toBe(before);
      const expected = [...r.inventory.devices.map((d) => `device ${d.id} created`), ...r.inventory.pods.map((p) => `pod ${p.id} created`)].sort();
      expect(dry.map((c) => `${c.kind} ${c.id} ${c.action}`).sort()).toEqual(expected);
      const applied = await store.apply(doc);
      expect(applied).toEqual(dry);
      expect(await store.apply(doc)).toEqual([]);
      expect((await store.export()).devices.map((d) => d.id).sort()).toEqual(r.inventory.devices.map((d) => d.id).sort());
    });
  }

  it('reference: kind → dialect and credentials, mgmt-ipv4, labels, pods from ToRs and gateways, hNVEs and skipped nodes listed', () => {
    const r = inventoryFromClab(readClabTopology(REFERENCE));
    const byId = new Map(r.inventory.devices.map((d) => [d.id, d]));
    expect([...byId.keys()]).toEqual(['tor1', 'tor2', 'tor3', 'wan1', 'tgw1']);
    expect(byId.get('tor1')).toMatchObject({ role: 'tor', driver: 'netconf', dialect: 'srlinux', vtep: '203.0.113.11', management: { host: '192.0.2.131', port: 830, username: 'admin', password: 'NokiaSrl1!', hostKeyCheck: 'off' } });
    expect(byId.get('tor2')).toMatchObject({ dialect: 'openconfig', management: { host: '192.0.2.132', username: 'admin', password: 'admin' } });
    expect(byId.get('wan1')).toMatchObject({ role: 'wan-gw', ngMvpn: true, mcastGroups: ['233.252.0.0/24'], vlanRanges: ['100-1999'] });
    expect(byId.get('tgw1')).toMatchObject({ role: 'tor-gw', dialect: 'openconfig', vlanRanges: ['1000-2999'] });
    expect(r.inventory.pods).toEqual([
      { id: 'pod1', vlanRanges: ['1-4000'], tors: ['tor1', 'tor2'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'gateway' },
      { id: 'pod2', vlanRanges: ['1-4000'], tors: ['tor3'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'gateway' },
    ]);
    // Group labels (nvo.role, nvo.encap) are inherited; node labels add pod and VTEP.
    expect(r.hnves).toEqual([
      { id: 'hv1', pod: 'pod1', vtep: '203.0.113.21', encapsulations: ['vxlan', 'geneve'] },
      { id: 'hv2', pod: 'pod1', vtep: '203.0.113.22', encapsulations: ['vxlan', 'geneve'] },
      { id: 'hv3', pod: 'pod2', vtep: '203.0.113.23', encapsulations: ['vxlan', 'geneve'] },
    ]);
    expect(r.skipped.map((s) => s.node)).toEqual(['spine1', 'legacy1', 'wanhost1']);
  });

  it('put every hypervisor\'s VTEP on its link to the ToR, the underlay its agent file names', () => {
    for (const file of examples) {
      const topo = parse(readFileSync(file, 'utf8')) as { topology: { nodes: Record<string, { binds?: string[]; exec?: string[]; labels?: Record<string, string> }> } };
      // a hypervisor is a node that runs the hNVE agent from its agent file
      const hvs = Object.entries(topo.topology.nodes).filter(([, n]) => n.binds?.some((b) => b.endsWith(':/etc/nvo/agent.yaml:ro')));
      expect(hvs.length, file).toBeGreaterThan(0);
      for (const [name, n] of hvs) expect(n.exec, `${file}: ${name}`).toContain(`ip address add ${n.labels!['nvo.vtep']}/32 dev eth1`);
    }
  });

  it('use documentation addresses only, and never containerlab\'s default management network', () => {
    const docs = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '233.252.0.0/24'].map((c) => parseCidr(c) as Cidr);
    const clabDefault = ['172', '20', '20', ''].join('.');
    const mine = [...examples, join(CLAB_DIR, 'README.md')];
    for (const file of mine) {
      const text = readFileSync(file, 'utf8');
      expect(text.includes(clabDefault), file).toBe(false);
      for (const ip of text.match(/\b\d{1,3}(\.\d{1,3}){3}\b/g) ?? []) {
        expect(docs.some((d) => cidrContains(d, ip)), `${file}: ${ip}`).toBe(true);
      }
    }
  });
});

describe('kinds', () => {
  it('one table; every dialect it names is in the registry; unknown kinds refused the way containerlab does', () => {
    for (const k of Object.values(CLAB_KINDS)) if (k.dialect) expect(dialectNames()).toContain(k.dialect);
    expect(CLAB_KINDS.nokia_srlinux!.dialect).toBe('srlinux');
    expect(CLAB_KINDS.arista_ceos!.dialect).toBe('openconfig');
    expect(clabKind('nokia_srlinx')).toBe(`kind "nokia_srlinx" is not supported. Supported kinds are [${supportedKinds().map((k) => `"${k}"`).join(' ')}]`);
    expect(clabKind('toString')).toMatch(/not supported/);
  });
});

// A small valid topology the error cases change one thing in.
const BASE = `name: t
mgmt:
  ipv4-subnet: 192.0.2.192/26
topology:
  nodes:
    tor1:
      kind: nokia_srlinux
      mgmt-ipv4: 192.0.2.194
      labels:
        nvo.role: tor
        nvo.pod: pod1
        nvo.vtep: 203.0.113.31
        nvo.vlans: 1-4000
    wan1:
      kind: arista_ceos
      labels:
        nvo.role: wan-gw
        nvo.vtep: 203.0.113.32
    tgw1:
      kind: srl
      labels:
        nvo.role: tor-gw
        nvo.vtep: 203.0.113.33
    hv1:
      kind: linux
      labels:
        nvo.role: hnve
        nvo.pod: pod1
        nvo.vtep: 203.0.113.41
  links:
    - endpoints: ["tor1:e1-1", "hv1:eth1"]
`;

describe('conversion rules and errors', () => {
  it('the base converts; a node without mgmt-ipv4 is reached by its container name; flags override credentials and fields', () => {
    const r = convert(BASE, { username: 'nvo', password: 'secret-pw', set: ['tor1.management.port=10830', 'wan1.vlanRanges=[100-199, 300]', 'tgw1.description=gw'], knownHostsFile: '/etc/nvo/known_hosts' });
    const wan = r.inventory.devices.find((d) => d.id === 'wan1')!;
    expect(wan.management).toEqual({ host: 'clab-t-wan1', port: 830, username: 'nvo', password: 'secret-pw', hostKeyCheck: 'known-hosts', knownHostsFile: '/etc/nvo/known_hosts' });
    expect(wan.vlanRanges).toEqual(['100-199', '300']);
    expect(r.inventory.devices.find((d) => d.id === 'tor1')!.management!.port).toBe(10830);
    expect(r.inventory.devices.find((d) => d.id === 'tgw1')!.description).toBe('gw');
    expect(convert(BASE.replace('name: t', 'name: t\nprefix: ""')).inventory.devices[1]!.management!.host).toBe('wan1');
  });

  it('a typo\'d kind: containerlab\'s words, the node, the line', () => {
    const text = BASE.replace('kind: arista_ceos', 'kind: arista_coes');
    const e = fails(text);
    expect(e.message).toBe(`x.clab.yml:${lineOf(text, 'arista_coes')}: invalid containerlab topology: topology.nodes.wan1.kind: node wan1: kind "arista_coes" is not supported. Supported kinds are ["arista_ceos" "ceos" "linux" "nokia_srlinux" "srl"]`);
  });

  it('a missing label: the node, the label, the line of its labels', () => {
    const text = BASE.replace('        nvo.vtep: 203.0.113.32\n', '');
    const e = fails(text);
    expect(e.message).toBe(`x.clab.yml:${lineOf(text, 'labels:', 'wan1:')}: invalid containerlab topology: topology.nodes.wan1.labels: node wan1: label nvo.vtep is required`);
    expect(e.issues[0]).toEqual({ field: 'topology.nodes.wan1.labels', reason: 'node wan1: label nvo.vtep is required' });
    const noPod = fails(BASE.replace('        nvo.pod: pod1\n        nvo.vtep: 203.0.113.31', '        nvo.vtep: 203.0.113.31'));
    expect(noPod.issues[0]).toEqual({ field: 'topology.nodes.tor1.labels', reason: 'node tor1: label nvo.pod is required on a ToR' });
  });

  it('a bad VLAN label: the node, the label, the reason, the line of the label', () => {
    const text = BASE.replace('nvo.vlans: 1-4000', 'nvo.vlans: 100-5000');
    const e = fails(text);
    expect(e.message).toMatch(new RegExp(`^x\\.clab\\.yml:${lineOf(text, '100-5000')}: `));
    expect(e.issues[0]).toEqual({ field: 'topology.nodes.tor1.labels["nvo.vlans"]', reason: 'node tor1: label nvo.vlans: VLAN: 5000 is outside 1..4094' });
  });

  it('other mistakes, each named', () => {
    const cases: [string, string | RegExp][] = [
      [BASE.replace('      labels:\n        nvo.role: tor', '      lables:\n        nvo.role: tor'), "topology.nodes.tor1.lables: unknown field 'lables' (did you mean 'labels'?)"],
      [BASE.replace('nvo.vtep: 203.0.113.33', 'nvo.vtpe: 203.0.113.33'), "node tgw1: unknown label 'nvo.vtpe' (did you mean 'nvo.vtep'?)"],
      [BASE.replace('nvo.vtep: 203.0.113.33', 'nvo.vtep: 203.0.113.33\n        nvo.ng-mvpn: true'), 'containerlab labels are strings: quote it ("true")'],
      [BASE.replace('nvo.vtep: 203.0.113.33', 'nvo.vtep: 203.0.113.33\n        nvo.ng-mvpn: "yes"'), `node tgw1: label nvo.ng-mvpn: 'yes' must be "true" or "false"`],
      [BASE.replace('mgmt-ipv4: 192.0.2.194', 'mgmt-ipv4: 198.51.100.7'), 'node tor1: mgmt-ipv4 198.51.100.7 is outside the management subnet 192.0.2.192/26'],
      [BASE.replace('nvo.role: wan-gw', 'nvo.role: wan'), "node wan1: label nvo.role: 'wan' is not one of tor, wan-gw, tor-gw, hnve"],
      [BASE.replace('nvo.role: wan-gw', 'nvo.role: tor-gw'), /pod pod1 \(from node tor1\): (no wan-gw node serves it; add a node with nvo.role: wan-gw|several tor-gw nodes serve it \(wan1, tgw1\))/],
      [BASE.replace('nvo.pod: pod1\n        nvo.vtep: 203.0.113.41', 'nvo.pod: pod9\n        nvo.vtep: 203.0.113.41'), 'node hv1: label nvo.pod: no ToR has nvo.pod pod9'],
      [BASE.replace('kind: linux', 'kind: arista_ceos'), 'node hv1: an hNVE runs in a linux container, not kind arista_ceos'],
      [BASE.replace('"hv1:eth1"', '"hv9:eth1"'), "link to unknown node 'hv9'"],
      [BASE.replace('nvo.vtep: 203.0.113.32', 'nvo.vtep: 203.0.113.32\n        nvo.mcast-groups: 233.252.0.0/24'), 'node wan1: label nvo.mcast-groups: only NG-MVPN gateways (ngMvpn: true) hand out multicast groups'],
    ];
    for (const [text, want] of cases) {
      const e = fails(text);
      expect(e.message).toMatch(typeof want === 'string' ? new RegExp(want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : want);
      expect(e.message).toMatch(/^x\.clab\.yml:\d+: invalid containerlab topology: /);
    }
    expect(fails(BASE, { set: ['tor9.vtep=203.0.113.9'] }).message).toBe('x.clab.yml: invalid containerlab topology: --set: --set tor9.vtep=203.0.113.9: no node tor9 in the topology');
    expect(fails(BASE, { set: ['tor1.management.port=99999'] }).message).toMatch(/--set tor1\.management\.port=99999: management\.port: /);
    expect(fails(BASE, { set: ['tor1.vtepp=203.0.113.9'] }).message).toMatch(/--set tor1\.vtepp=203\.0\.113\.9: .*unknown field 'vtepp'/);
  });
});

const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: t.prefix });

describe('nvo inventory from-clab (the executable)', () => {
  it('prints the inventory with flags applied; refuses a bad file in one line with file:line, exit 2', async () => {
    const out = await nvo(['inventory', 'from-clab', SMALL, '--username', 'ops', '--password', 'pw-1234', '--set', 'tor1.management.port=10830']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^# nvo inventory from containerlab topology nvo-small/);
    expect(out.stdout).toContain('#   hv1: pod pod1, vtep 203.0.113.41');
    const doc = parse(out.stdout) as { devices: { id: string; dialect: string; management: { port: number; username: string } }[] };
    expect(doc.devices.map((d) => [d.id, d.dialect, d.management.username, d.management.port])).toEqual([
      ['tor1', 'srlinux', 'ops', 10830],
      ['wan1', 'openconfig', 'ops', 830],
      ['tgw1', 'srlinux', 'ops', 830],
    ]);

    const bad = join(dir, 'bad.clab.yml');
    const text = BASE.replace('nvo.vlans: 1-4000', 'nvo.vlans: 100-5000');
    writeFileSync(bad, text);
    const before = await t.snapshot();
    const err = await nvo(['inventory', 'from-clab', bad, '--apply']);
    expect(err.code).toBe(2);
    expect(err.stdout).toBe('');
    expect(err.stderr).toBe(`nvo: error: ${bad}:${lineOf(text, '100-5000')}: invalid containerlab topology: topology.nodes.tor1.labels["nvo.vlans"]: node tor1: label nvo.vlans: VLAN: 5000 is outside 1..4094\n`);
    expect(await t.snapshot()).toBe(before);
  });

  it('--apply merges into the store: dry run changes nothing, apply keeps the tenant, a repeat changes nothing', async () => {
    await store.create('tenant', { cid: 'acme', name: 'Acme', subnet: '192.0.2.0/25', gateway: '192.0.2.1' });
    const before = await t.snapshot();
    const dry = await nvo(['inventory', 'from-clab', REFERENCE, '--apply', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would create device tor1\n');
    expect(dry.stdout).toContain('would create pod pod2\n');
    expect(dry.stdout).toContain('7 changes (dry run: nothing was written)\n');
    expect(dry.stdout).toContain('not in the inventory: hNVEs hv1, hv2, hv3');
    expect(await t.snapshot()).toBe(before);

    const applied = await nvo(['inventory', 'from-clab', REFERENCE, '--apply']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.split('\n').filter((l) => l.startsWith('created'))).toHaveLength(7);
    const inv = await store.export();
    expect(inv.tenants.map((x) => x.cid)).toEqual(['acme']);
    expect(inv.pods.map((p) => p.id)).toEqual(['pod1', 'pod2']);

    const again = await nvo(['inventory', 'from-clab', REFERENCE, '--apply', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ dryRun: false, changes: [] });
  });
});
