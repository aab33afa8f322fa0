// The lab on this machine, through the real CLI: `nvo lab up` twice (the second changes nothing), a
// NETCONF commit by nvo's own client to a lab device changes the bridges and fdb of its namespace,
// an XMPP push reaches the gateway agent's namespace, an `up` killed halfway is recovered by the next,
// and `lab down` leaves no namespace, process or listening port. Needs root (namespaces) and the
// Debian packages netconfd, openssh-server, prosody, iproute2; skips with the reason otherwise. The
// lab gets a name and state dir of its own, and a Redis key prefix that is deleted afterwards.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxDataPlane } from '../../src/dataplane/linux/linux-data-plane.ts';
import { applyToDevice } from '../../src/drivers/netconf/device-ops.ts';
import { XmppDriver } from '../../src/drivers/xmpp/xmpp-driver.ts';
import { emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import type { Device } from '../../src/model/device.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { keys } from '../../src/store/keys.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { openLab } from '../../src/lab/lab-handle.ts';
import { networkPlan } from '../../src/lab/network.ts';
import { loadTopology } from '../../src/lab/topology.ts';
import { stopProcess, Supervisor, type ProcRecord } from '../../src/lab/supervisor.ts';
import { NVO_BIN, runNvo } from '../support/nvo-cli.ts';
import { labNamespaces, labProcesses, labSkipReason } from './lab-support.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const why = labSkipReason();
if (why) console.log(`skipping the lab test: ${why}`);

const name = `nvt${randomBytes(2).toString('hex')}`;
const base = mkdtempSync(join(tmpdir(), 'nvo-lab-test-'));
const stateDir = join(base, 'lab');
// Whichever blocks run (or are skipped), the test's temp dir goes.
afterAll(() => rmSync(base, { recursive: true, force: true }));
const prefix = `test-${randomUUID()}:`;
const env = { ...process.env, NVO_PREFIX: prefix, NVO_CHECK_SYNC_INTERVAL_MS: '0' };
const labArgs = ['--name', name, '--state-dir', stateDir];

const nvo = (args: string[]) => runNvo(args, env, { cwd: ROOT });

const state = () => JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { processes: Record<string, { pid: number; start: number; what: string; ports?: number[] }>; data: { netconf: { instances: { port: number }[] }; xmpp: { service: string; controller: { jid: string; password: string } } } };
const netnsOf = (id: string) => `${name}-${id}`;
const listening = () => execFileSync('ss', ['-Hltn'], { encoding: 'utf8' });
const links = (ns: string) => (JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string; master?: string }[]);
const fdb = (ns: string, dev: string) =>
  JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as { mac: string; dst?: string }[];

async function until<T>(what: string, fn: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = fn();
    } catch {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function untilAsync(what: string, fn: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(why !== null)('nvo lab up|down|status on this machine', () => {
  let store: InventoryStore;

  beforeAll(() => {
    store = InventoryStore.open({ prefix, name: 'lab-test' });
  });

  afterAll(async () => {
    if (existsSync(stateDir)) await nvo(['lab', 'down', ...labArgs]);
    const r = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const ks = await r.keys(`${prefix}*`);
    if (ks.length) await r.del(...ks);
    await r.quit();
    await store.close();
  }, 120_000);

  it('builds the lab, and a second up changes nothing', async () => {
    const first = await nvo(['lab', 'up', ...labArgs]);
    expect(first.code, first.stderr).toBe(0);
    for (const step of ['namespaces and links', 'redis', 'netconfd + sshd', 'prosody + accounts', 'lab device appliers', 'gateway agents', 'inventory', 'proxies and workers', 'hNVE agents']) {
      expect(first.stderr).toContain(`nvo lab: ${step}`);
    }
    expect(first.stderr).toMatch(/proxies and workers +network proxy np1 on 127\.0\.0\.1:\d+; tenant proxy tp1 on ws:\/\/127\.0\.0\.1:\d+/);
    expect(first.stderr).toMatch(/hNVE agents +(hv\d, ){2}hv\d registered at ws:\/\/127\.0\.0\.1:\d+/);
    expect(labNamespaces(name).sort()).toEqual(['core', 'tor1', 'tor2', 'tor3', 'wan1', 'tgw1', 'hv1', 'hv2', 'hv3', 'vm1', 'vm2', 'vm3', 'vm4', 'vm5', 'legacy1', 'wanhost'].map(netnsOf).sort());
    // The underlay routes: hv3 (pod2) reaches tor1's VTEP (pod1) through the core.
    execFileSync('ip', ['netns', 'exec', netnsOf('hv3'), 'ping', '-c1', '-W2', '-I', '203.0.113.23', '203.0.113.11']);
    const pids = Object.fromEntries(Object.entries(state().processes).map(([k, v]) => [k, v.pid]));

    const second = await nvo(['lab', 'up', ...labArgs]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/namespaces and links +16 namespaces already up/);
    expect(second.stderr).toMatch(/netconfd \+ sshd +4 instances already up/);
    expect(second.stderr).toMatch(/inventory +already applied/);
    expect(Object.fromEntries(Object.entries(state().processes).map(([k, v]) => [k, v.pid]))).toEqual(pids);

    const hnves = await new NveStore(store.redis, keys(prefix), store).list();
    expect(hnves.map((h) => [h.id, h.pod, h.vtep])).toEqual([['hv1', 'pod1', '203.0.113.21'], ['hv2', 'pod1', '203.0.113.22'], ['hv3', 'pod2', '203.0.113.23']]);

    const status = await nvo(['lab', 'status', ...labArgs, '--json']);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as { element: string; up: boolean }[];
    expect(rows.filter((r) => !r.up)).toEqual([]);
    expect(rows.map((r) => r.element)).toEqual(expect.arrayContaining(['namespaces and links', 'netconf', 'prosody', 'applier-tor1', 'applier-wan1', 'gateway-tor2', 'network-proxy', 'tenant-proxy', 'agent-hv1', 'agent-hv2', 'agent-hv3']));
  }, 240_000);

  it('one up at a time: a live holder of the lock makes another up refuse', async () => {
    const lock = join(stateDir, 'up.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, start: Number(readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]) }));
    try {
      const r = await nvo(['lab', 'up', ...labArgs]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`nvo: error: another nvo lab up (pid ${process.pid}) is working on ${stateDir}`);
    } finally {
      rmSync(lock, { force: true });
    }
  }, 60_000);

  it('a NETCONF commit to a lab device changes the bridges and fdb of its namespace', async () => {
    const tor1 = (await store.get('device', 'tor1')) as Device;
    expect(tor1.management?.port).toBe(state().data.netconf.instances[0]!.port);
    const want: DeviceConfig = {
      ...emptyConfig(),
      vlans: [{ id: 1100, name: 'acme' }],
      vnis: [{ vni: 5001, vlan: 1100, encapsulation: 'vxlan' }],
      floods: [{ vni: 5001, vtep: '203.0.113.21' }],
      macs: [{ vni: 5001, mac: '02:00:00:00:01:01', vtep: '203.0.113.21' }],
    };
    await applyToDevice(tor1, { merge: want, remove: emptyConfig() });
    const ns = netnsOf('tor1');
    await until('nvox5001 in nvob1100 on tor1', () => links(ns).some((l) => l.ifname === 'nvox5001' && l.master === 'nvob1100'));
    await until('the MAC entry on tor1', () => fdb(ns, 'nvox5001').some((e) => e.mac === '02:00:00:00:01:01' && e.dst === '203.0.113.21'));
    expect(fdb(ns, 'nvox5001').some((e) => e.mac === '00:00:00:00:00:00' && e.dst === '203.0.113.21')).toBe(true);

    // The MAC moves to another VTEP: the applier follows the next commit too.
    await applyToDevice(tor1, { merge: { ...emptyConfig(), macs: [{ vni: 5001, mac: '02:00:00:00:01:01', vtep: '203.0.113.22' }] }, remove: emptyConfig() });
    await until('the moved MAC on tor1', () => fdb(ns, 'nvox5001').some((e) => e.mac === '02:00:00:00:01:01' && e.dst === '203.0.113.22'));
    expect(fdb(ns, 'nvox5001').some((e) => e.mac === '02:00:00:00:01:01' && e.dst === '203.0.113.21')).toBe(false);

    // tgw1's access port joins the VNI's segment once the VNI is configured there.
    const tgw1 = (await store.get('device', 'tgw1')) as Device;
    await applyToDevice(tgw1, { merge: want, remove: emptyConfig() });
    await until('legacy1 access port in nvob1100 on tgw1', () => links(netnsOf('tgw1')).some((l) => l.ifname === 'h-legacy1' && l.master === 'nvob1100'));
  }, 120_000);

  it('an XMPP push reaches the gateway agent and its namespace', async () => {
    const x = state().data.xmpp;
    const tor2 = (await store.get('device', 'tor2')) as Device;
    const driver = new XmppDriver({ service: x.service, jid: `${x.controller.jid}/lab-test`, password: x.controller.password, store: new DeviceStateStore(store.redis, keys(prefix)), deviceByJid: () => tor2 });
    await driver.start();
    try {
      const config: DeviceConfig = { ...emptyConfig(), vlans: [{ id: 1200, name: 'globex' }], vnis: [{ vni: 10007, vlan: 1200, encapsulation: 'vxlan' }], macs: [{ vni: 10007, mac: '02:00:00:00:03:02', vtep: '203.0.113.23' }] };
      const ack = await driver.sync(tor2, 1, config);
      expect(ack.revision).toBe(1);
    } finally {
      await driver.stop();
    }
    const ns = netnsOf('tor2');
    expect(links(ns).some((l) => l.ifname === 'nvox10007' && l.master === 'nvob1200')).toBe(true);
    expect(fdb(ns, 'nvox10007').some((e) => e.mac === '02:00:00:00:03:02' && e.dst === '203.0.113.23')).toBe(true);
  }, 120_000);

  // The hypervisors' side is done here with the Linux data plane the hNVE agents use, not through
  // INVITEs (the demo's part), so the packets prove what the gateways' appliers made of their NETCONF
  // commits. The lab's agents on hv1 and hv2 are stopped first: a resync would take back what the
  // test programs there.
  it('VM traffic crosses the overlay to the legacy host (ToR gateway) and is routed to the WAN host (WAN gateway)', async () => {
    for (const hv of ['hv1', 'hv2']) await stopProcess(state().processes[`agent-${hv}`] as ProcRecord);
    const hv1 = new LinuxDataPlane({ netns: netnsOf('hv1'), localVtep: '203.0.113.21' });
    await hv1.reconcile({
      ...emptyConfig(),
      vlans: [{ id: 1100, name: 'acme' }],
      vnis: [{ vni: 5001, vlan: 1100, encapsulation: 'vxlan' }],
      floods: [{ vni: 5001, vtep: '203.0.113.1' }, { vni: 5001, vtep: '203.0.113.2' }],
    });
    const lab = openLab({ topologyFile: join(ROOT, 'lab/topology.yaml'), stateDir, name });
    await hv1.attachPort({ port: lab.vm('vm1').port, vni: 5001 });
    // tgw1 has VNI 5001 from the previous test, with hv1 in its flood list and legacy1's port in the segment.
    await untilAsync('vm1 → legacy1', async () => (await lab.ping('vm1', '192.0.2.100', { count: 1 })).received === 1);
    const steady = lab.pingStream('vm1', '192.0.2.100', 0.05);
    await new Promise((r) => setTimeout(r, 1_000));
    const counted = await steady.stop();
    expect(counted.sent).toBeGreaterThan(5);
    expect(counted.lost).toBe(0);

    expect((await lab.ping('vm1', '192.0.2.200', { count: 1, timeoutS: 1 })).received).toBe(0); // no gateway for acme yet
    const wan1 = (await store.get('device', 'wan1')) as Device;
    await applyToDevice(wan1, {
      merge: {
        ...emptyConfig(),
        vrfs: [{ name: 'acme', rd: '65000:5001', importTargets: ['target:65000:5001'], exportTargets: ['target:65000:5001'] }],
        vlans: [{ id: 1100, name: 'acme' }],
        vnis: [{ vni: 5001, vlan: 1100, encapsulation: 'vxlan', vrf: 'acme' }],
        irbs: [{ vlan: 1100, vrf: 'acme', address: '192.0.2.1/25' }],
        floods: [{ vni: 5001, vtep: '203.0.113.21' }],
      },
      remove: emptyConfig(),
    });
    await untilAsync('vm1 → wanhost through wan1', async () => (await lab.ping('vm1', '192.0.2.200', { count: 1 })).received === 1);

    // The lab's plumbing for a move (the demo's REFER): vm1 gets a link to hv2 before its link to hv1
    // goes; a ping stream to legacy1 runs through it and loses nothing (make-before-break).
    const tgw1 = (await store.get('device', 'tgw1')) as Device;
    await applyToDevice(tgw1, { merge: { ...emptyConfig(), floods: [{ vni: 5001, vtep: '203.0.113.22' }] }, remove: emptyConfig() });
    await until('tgw1 floods to hv2', () => fdb(netnsOf('tgw1'), 'nvox5001').some((e) => e.mac === '00:00:00:00:00:00' && e.dst === '203.0.113.22'));
    const hv2 = new LinuxDataPlane({ netns: netnsOf('hv2'), localVtep: '203.0.113.22' });
    await hv2.reconcile({ ...emptyConfig(), vlans: [{ id: 1100, name: 'acme' }], vnis: [{ vni: 5001, vlan: 1100, encapsulation: 'vxlan' }], floods: [{ vni: 5001, vtep: '203.0.113.2' }] });
    const stream = lab.pingStream('vm1', '192.0.2.100', 0.05);
    await new Promise((r) => setTimeout(r, 500));
    await hv2.attachPort({ port: await lab.linkVm('vm1', 'hv2'), vni: 5001 });
    // tgw1 has vm1's MAC statically at hv1 (the NETCONF test): the move updates it, as REFER will.
    await applyToDevice(tgw1, { merge: { ...emptyConfig(), macs: [{ vni: 5001, mac: '02:00:00:00:01:01', vtep: '203.0.113.22' }] }, remove: emptyConfig() });
    await until('vm1 at hv2 on tgw1', () => fdb(netnsOf('tgw1'), 'nvox5001').some((e) => e.mac === '02:00:00:00:01:01' && e.dst === '203.0.113.22'));
    await lab.unlinkVm('vm1', 'hv1');
    await new Promise((r) => setTimeout(r, 1_000));
    const moved = await stream.stop();
    expect(moved.sent).toBeGreaterThan(15);
    expect(moved.lost).toBe(0);
    expect(links(netnsOf('hv1')).some((l) => l.ifname === 'vm-vm1')).toBe(false);
    expect((await lab.ping('vm1', '192.0.2.100', { count: 1 })).received).toBe(1);
  }, 120_000);

  it('lab down leaves nothing; an up killed halfway is recovered by the next up', async () => {
    const ports = Object.values(state().processes).flatMap((p) => p.ports ?? []);
    expect(ports.length).toBeGreaterThanOrEqual(5);
    const down = await nvo(['lab', 'down', ...labArgs]);
    expect(down.code, down.stderr).toBe(0);
    expectNothingLeft(ports);

    // kill -9 of `up` once netconfd is up: processes, namespaces and the state file are left behind.
    const c = spawn(process.execPath, [NVO_BIN, 'lab', 'up', ...labArgs], { env, cwd: ROOT });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await until('up to start netconfd', () => err.includes('netconfd + sshd'), 120_000);
    c.kill('SIGKILL');
    await new Promise((r) => c.once('close', r));
    expect(labNamespaces(name).length).toBe(16);
    expect(labProcesses(stateDir).length).toBeGreaterThan(0);

    const again = await nvo(['lab', 'up', ...labArgs]);
    expect(again.code, again.stderr).toBe(0);
    const status = await nvo(['lab', 'status', ...labArgs, '--json']);
    expect((JSON.parse(status.stdout) as { up: boolean }[]).every((r) => r.up), status.stdout).toBe(true);
    // One of each: nothing of the killed run is still running beside the new processes.
    const s = state();
    const recorded = Object.values(s.processes).map((p) => p.pid);
    const nodeProcs = labProcesses(stateDir).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('bin/nvo.js'));
    expect(nodeProcs.map(Number).sort()).toEqual(recorded.filter((p) => nodeProcs.includes(String(p))).sort());
    expect(readFileSync(`/proc/${s.processes.netconf!.pid}/cmdline`, 'utf8')).toContain('_run');

    const ports2 = Object.values(s.processes).flatMap((p) => p.ports ?? []);
    const down2 = await nvo(['lab', 'down', ...labArgs]);
    expect(down2.code, down2.stderr).toBe(0);
    expectNothingLeft(ports2);
  }, 300_000);

  function expectNothingLeft(ports: number[]): void {
    expect(labNamespaces(name)).toEqual([]);
    expect(labProcesses(stateDir)).toEqual([]);
    const open = listening();
    for (const p of ports) expect(open).not.toMatch(new RegExp(`127\\.0\\.0\\.1:${p}\\b`));
    expect(existsSync(stateDir)).toBe(false);
    expect(existsSync(new Supervisor(stateDir).netconfDir)).toBe(false);
  }
});

describe('nvo lab without root', () => {
  it.skipIf(process.getuid?.() !== 0 || !existsSync('/usr/sbin/runuser'))('fails with one clear line', () => {
    const r = spawnSync('/usr/sbin/runuser', ['-u', 'nobody', '--', process.execPath, join(ROOT, 'bin/nvo.js'), 'lab', 'up', ...labArgs], { encoding: 'utf8', env: { ...env, HOME: '/tmp' } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('nvo: error: nvo lab needs root: it creates network namespaces and veth links (run it with sudo)');
    expect(labNamespaces(name)).toEqual([]);
  });
});

interface Doc {
  inventory: string;
  devices: string[];
  hypervisors: { pod: string; vtep: string; vms: { id: string; address: string }[] }[];
  hosts: { mac: string; gateway?: string }[];
}

describe('the lab topology file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nvo-topology-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const shipped = parse(readFileSync(join(ROOT, 'lab/topology.yaml'), 'utf8')) as Record<string, unknown>;
  const variant = (edit: (t: Doc) => void) => {
    const t = structuredClone(shipped) as unknown as Doc;
    t.inventory = join(ROOT, 'lab/inventory.yaml');
    edit(t);
    const file = join(dir, `${randomUUID()}.yaml`);
    writeFileSync(file, stringify(t));
    return file;
  };

  it('the shipped topology: 16 namespaces, a /30 per node, VM ports and host attachments', () => {
    const plan = networkPlan(loadTopology(join(ROOT, 'lab/topology.yaml')));
    expect(plan.namespaces).toHaveLength(16);
    expect(plan.namespaces.find((n) => n.name === 'nvo-core')!.ifaces).toEqual(['c-tor1', 'c-tor2', 'c-tor3', 'c-wan1', 'c-tgw1', 'c-hv1', 'c-hv2', 'c-hv3']);
    expect(plan.commands).toContainEqual(['-n', 'nvo-core', 'route', 'add', '203.0.113.23/32', 'via', '203.0.113.158']);
    expect(plan.vmPorts.find((v) => v.vm === 'vm4')).toEqual({ vm: 'vm4', hypervisor: 'hv3', netns: 'nvo-vm4', port: 'vm-vm4', mac: '02:00:00:00:03:01', address: '192.0.2.13/25', cid: 'acme' });
    expect(plan.attachments).toEqual([
      { device: 'tgw1', port: 'h-legacy1', host: 'legacy1', vni: 5001 },
      { device: 'wan1', port: 'h-wanhost', host: 'wanhost', vrf: 'acme' },
    ]);
  });

  it.each([
    ['an unknown device', (t: Doc) => t.devices.push('tor9'), 'devices[5]: tor9 is not a device of'],
    ['a VM outside its subnet', (t: Doc) => (t.hypervisors[0]!.vms[0]!.address = '192.0.2.200/25'), "hypervisors[0].vms[0].address: 192.0.2.200/25 is outside the tenant's subnet 192.0.2.0/25"],
    ['a MAC used twice', (t: Doc) => (t.hosts[0]!.mac = '02:00:00:00:01:01'), "hosts[0].mac: MAC 02:00:00:00:01:01 is already hypervisors[0].vms[0].mac's"],
    ['a VTEP used twice', (t: Doc) => (t.hypervisors[1]!.vtep = '203.0.113.21'), "hypervisors[1].vtep: VTEP 203.0.113.21 is already hypervisors[0].vtep's"],
    ['a WAN host without its gateway', (t: Doc) => delete t.hosts[1]!.gateway, "hosts[1].gateway: a WAN host needs the device's address on its link"],
    ['an id too long for interface names', (t: Doc) => (t.hypervisors[0]!.vms[0]!.id = 'averylongvmname'), 'hypervisors[0].vms[0].id: must be 1-10 lowercase letters or digits'],
    ['a hypervisor in an unknown pod', (t: Doc) => (t.hypervisors[2]!.pod = 'pod7'), 'hypervisors[2].pod: pod7 is not a pod of'],
  ])('refuses %s, naming the field', (_what, edit, message) => {
    const file = variant(edit);
    expect(() => loadTopology(file)).toThrow(message);
  });
});
