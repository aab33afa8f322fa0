// The pipeline against real netconfd servers (lab/netconf-server.ts: yuma123 behind OpenSSH) through
// the NETCONF driver: coalescing, a device's refusal and the rollback, kill -9 between the confirmed
// commit and its confirmation, two worker processes sharing the devices, and an INVITE one device's
// YANG refuses. What the devices have is read back with get-config.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managementOf, startNetconfServers, type NetconfServers } from '../../lab/netconf-server.ts';
import { Allocator } from '../../src/alloc/allocator.ts';
import { applyToDevice, getRunning } from '../../src/drivers/netconf/device-ops.ts';
import { NvoError } from '../../src/errors.ts';
import type { Device } from '../../src/model/device.ts';
import { diffConfig, emptyConfig, normalizeConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { netconfDriver } from '../../src/pipeline/netconf-adapter.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import type { SyncTarget } from '../../src/proxy/network/device-sync-port.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { CHAIN_DEVICES, startChain, type Chain } from './chain.ts';
import { spawnWorker } from './harness.ts';
import { labTor } from '../support/netconf-device.ts';

let servers: NetconfServers;
let devices: Device[];
const children: ChildProcess[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'nvo-pipeline-'));


beforeAll(async () => {
  servers = await startNetconfServers({ count: 3 });
  devices = servers.instances.map((n, i) => labTor(`tor${i + 1}`, n, `192.0.2.${11 + i}`));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await servers?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function session(i: number): DeviceConfig {
  const vlan = 100 + i;
  const vni = 10_000 + i;
  const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  return { ...emptyConfig(), vlans: [{ id: vlan, name: `s${i}` }], vnis: [{ vni, vlan, encapsulation: 'vxlan' }], macs: [{ vni, mac, vtep: '192.0.2.50' }] };
}

async function inProcess(t: TestRedis): Promise<Pipeline> {
  const inventory = new Map(devices.map((d) => [d.id, d]));
  return new Pipeline({
    redis: t.redis,
    k: t.k,
    drivers: new DriverRegistry().register('netconf', netconfDriver({ confirmTimeoutS: 120 })),
    lookup: async (id) => inventory.get(id) ?? null,
    log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
    concurrency: 4,
    timing: { lockDurationMs: 5000, stalledIntervalMs: 2500, busyDelayMs: 100 },
    retry: { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 },
  }).start();
}

/** What a session does at the network proxy: write its contributions, then ask for the sync. */
async function contribute(p: Pipeline, owner: string, parts: [string, DeviceConfig | null][]): Promise<SyncTarget[]> {
  const targets: SyncTarget[] = [];
  for (const [device, config] of parts) targets.push({ device, revision: await p.store.setContribution(device, owner, config) });
  await p.port.request(targets, { sessionId: owner });
  return targets;
}

async function expectDeviceHasDesired(p: Pipeline, device: Device) {
  const desired = await p.store.desired(device.id);
  expect((await getRunning(device)).config).toEqual(normalizeConfig(desired.config));
}

describe('pipeline on real netconfd', () => {
  it('120 sessions on two devices: few commits, and get-config shows exactly the desired state', async () => {
    const t = await testRedis();
    const p = await inProcess(t);
    try {
      const [a, b] = devices as [Device, Device];
      const waits: Promise<void>[] = [];
      for (let i = 1; i <= 120; i++) {
        const targets = await contribute(p, `s${i}`, [
          [a.id, session(i)],
          [b.id, session(i)],
        ]);
        waits.push(p.port.waitApplied(targets, { deadlineMs: 90_000, sessionId: `s${i}` }));
      }
      await Promise.all(waits);
      for (const d of [a, b]) {
        await expectDeviceHasDesired(p, d);
        expect((await getRunning(d)).config.vlans).toHaveLength(120);
        const st = await p.store.status(d.id);
        expect(st).toMatchObject({ desiredRevision: 120, appliedRevision: 120, syncState: 'in-sync' });
        console.log(`${d.id}: 120 changes in ${st.commits} commits`);
        expect(st.commits).toBeLessThan(40);
      }
      // Clean the devices for the next test, through the pipeline.
      const back: SyncTarget[] = [];
      for (let i = 1; i <= 120; i++) back.push(...(await contribute(p, `s${i}`, [[a.id, null], [b.id, null]])));
      await p.port.waitApplied(back, { deadlineMs: 90_000, sessionId: 'cleanup' });
      expect((await getRunning(a)).config).toEqual(emptyConfig());
    } finally {
      await p.close();
      await t.cleanup();
    }
  }, 180_000);

  it('a device refuses one session: only it fails, with the device words; its rollback leaves no trace on any device', async () => {
    const t = await testRedis();
    const p = await inProcess(t);
    try {
      const [a, b] = devices as [Device, Device];
      const bad = { ...emptyConfig(), vlans: [{ id: 300, name: 'bad-ok-part' }, { id: 5000, name: 'bad' }] };
      const s1 = await contribute(p, 'good1', [[a.id, session(1)], [b.id, session(1)]]);
      const sb = await contribute(p, 'bad', [[a.id, bad], [b.id, { ...emptyConfig(), vlans: [{ id: 300, name: 'bad-ok-part' }] }]]);
      const s2 = await contribute(p, 'good2', [[a.id, session(2)], [b.id, session(2)]]);
      const [r1, rb, r2] = await Promise.allSettled([
        p.port.waitApplied(s1, { deadlineMs: 60_000, sessionId: 'good1' }),
        p.port.waitApplied(sb, { deadlineMs: 60_000, sessionId: 'bad' }),
        p.port.waitApplied(s2, { deadlineMs: 60_000, sessionId: 'good2' }),
      ]);
      expect(r1.status).toBe('fulfilled');
      expect(r2.status).toBe('fulfilled');
      expect(rb.status).toBe('rejected');
      const err = (rb as PromiseRejectedResult).reason as NvoError;
      expect(err).toBeInstanceOf(NvoError);
      expect(err.code).toBe('device-error');
      expect(err.details).toMatchObject({ device: a.id, deviceMessage: 'value not in range', owner: 'bad' });
      expect(String(err.details.path)).toContain("vlan[nvo:id='5000']");
      // tor2 took bad's harmless part; tor1 took neither part.
      expect((await getRunning(b)).config.vlans.map((v) => v.id)).toEqual([101, 102, 300]);
      expect((await getRunning(a)).config.vlans.map((v) => v.id)).toEqual([101, 102]);

      // The proxy rolls the session back on every device it touched.
      const back = await contribute(p, 'bad', [[a.id, null], [b.id, null]]);
      await p.port.waitApplied(back, { deadlineMs: 60_000, sessionId: 'bad-rollback' });
      for (const d of [a, b]) {
        await expectDeviceHasDesired(p, d);
        expect(JSON.stringify((await getRunning(d)).config)).not.toMatch(/bad|5000|"id":300/);
        expect((await p.store.status(d.id)).syncState).toBe('in-sync');
      }
      const back2 = [...(await contribute(p, 'good1', [[a.id, null], [b.id, null]])), ...(await contribute(p, 'good2', [[a.id, null], [b.id, null]]))];
      await p.port.waitApplied(back2, { deadlineMs: 60_000, sessionId: 'cleanup' });
    } finally {
      await p.close();
      await t.cleanup();
    }
  }, 180_000);

  it('a device that lost its configuration behind nvo\'s back refuses a delta (data-missing): the sync reads it back and sends what it lacks, no session fails', async () => {
    const t = await testRedis();
    const p = await inProcess(t);
    const a = devices[0]!;
    try {
      await p.port.waitApplied(await contribute(p, 'first', [[a.id, session(7)]]), { deadlineMs: 60_000, sessionId: 'first' });
      // The router comes back empty (a restart without its configuration), nvo is not told.
      const had = (await getRunning(a)).config;
      expect(had.vnis).toHaveLength(1);
      await applyToDevice(a, diffConfig(had, emptyConfig()));
      expect((await getRunning(a)).config).toEqual(emptyConfig());
      // A second session adds a MAC to the first one's VNI: the delta is just that MAC under vni 10007,
      // which the device no longer has (its required vlan leaf is missing: data-missing).
      const mac = { ...emptyConfig(), macs: [{ vni: 10_007, mac: '02:00:00:00:77:01', vtep: '192.0.2.51' }] };
      await p.port.waitApplied(await contribute(p, 'second', [[a.id, mac]]), { deadlineMs: 60_000, sessionId: 'second' });
      await expectDeviceHasDesired(p, a);
      expect((await getRunning(a)).config.macs.map((m) => m.mac).sort()).toEqual(['02:00:00:00:00:07', '02:00:00:00:77:01']);
      expect(await p.store.status(a.id)).toMatchObject({ syncState: 'in-sync', lastError: null });
      // The second's MAC lives in the first's VNI: it goes first.
      await p.port.waitApplied(await contribute(p, 'second', [[a.id, null]]), { deadlineMs: 60_000, sessionId: 'cleanup' });
      await p.port.waitApplied(await contribute(p, 'first', [[a.id, null]]), { deadlineMs: 60_000, sessionId: 'cleanup' });
      expect((await getRunning(a)).config).toEqual(emptyConfig());
    } finally {
      await p.close();
      await t.cleanup();
    }
  }, 180_000);

  it('kill -9 of a worker between confirmed commit and confirm: the device rolls back, the next worker repairs', async () => {
    const t = await testRedis();
    const c = devices[2]!;
    const file = join(tmp, 'devices.json');
    writeFileSync(file, JSON.stringify(devices));
    const victim = await spawnWorker([t.prefix, '0', '1', file, 'commit-pending']);
    children.push(victim.child);
    // The proxy side: no workers of its own.
    const p = new Pipeline({ redis: t.redis, k: t.k, drivers: new DriverRegistry(), lookup: async () => null, log: pino({ level: 'silent' }), workers: 0 }).start();
    try {
      const first = await contribute(p, 's1', [[c.id, session(1)]]);
      await victim.waitFor('stage commit-pending');
      // Committed but not confirmed: running has it now.
      expect((await getRunning(c)).config.vlans.map((v) => v.id)).toEqual([101]);
      const more = await contribute(p, 's2', [[c.id, session(2)]]);
      victim.child.kill('SIGKILL');
      await new Promise((r) => victim.child.once('exit', r));
      // RFC 6241 §8.4: the session that issued the confirmed commit is gone, so the device rolls back.
      let vlansNow: number[] = [101];
      for (let i = 0; i < 100 && vlansNow.length; i++) {
        vlansNow = (await getRunning(c)).config.vlans.map((v) => v.id);
        if (vlansNow.length) await new Promise((r) => setTimeout(r, 100));
      }
      expect(vlansNow).toEqual([]);
      const rescuer = await spawnWorker([t.prefix, '0', '2', file]);
      children.push(rescuer.child);
      await p.port.waitApplied([...first, ...more], { deadlineMs: 60_000, sessionId: 'check' });
      await expectDeviceHasDesired(p, c);
      expect((await getRunning(c)).config.vlans.map((v) => v.id)).toEqual([101, 102]);
      rescuer.child.kill('SIGTERM');
      await new Promise((r) => rescuer.child.once('exit', r));
    } finally {
      await p.close();
      await t.cleanup();
    }
  }, 180_000);

  it('two worker processes: never two syncs of one device at once, both take part, get-config equals desired', async () => {
    // Start from empty devices (the kill -9 test leaves its sessions on tor3).
    for (const d of devices) {
      const left = (await getRunning(d)).config;
      if (JSON.stringify(left) !== JSON.stringify(emptyConfig())) await applyToDevice(d, { merge: emptyConfig(), remove: left });
    }
    const t = await testRedis();
    const file = join(tmp, 'devices-two.json');
    writeFileSync(file, JSON.stringify(devices));
    const workers = await Promise.all([spawnWorker([t.prefix, '0', '4', file]), spawnWorker([t.prefix, '0', '4', file])]);
    children.push(...workers.map((w) => w.child));
    // The proxy side: no workers of its own.
    const p = new Pipeline({ redis: t.redis, k: t.k, drivers: new DriverRegistry(), lookup: async () => null, log: pino({ level: 'silent' }), workers: 0 }).start();
    try {
      const targets: SyncTarget[] = [];
      for (let i = 1; i <= 90; i++) {
        targets.push(...(await contribute(p, `s${i}`, [[devices[i % 3]!.id, session(i)]])));
        if (i % 9 === 0) await new Promise((r) => setTimeout(r, 50));
      }
      await p.port.waitApplied(targets, { deadlineMs: 120_000, sessionId: 'check' });
      // Every apply either process made, as each recorded it (worker-process.ts).
      const applies = (await t.redis.lrange(`${t.prefix}test:applies`, 0, -1)).map((l) => JSON.parse(l) as { device: string; start: number; end: number; pid: number });
      for (const [n, d] of devices.entries()) {
        const mine = applies.filter((a) => a.device === d.id).sort((a, b) => a.start - b.start);
        expect(mine.length).toBeGreaterThan(0);
        const overlaps = mine.filter((a, i) => i > 0 && a.start < mine[i - 1]!.end);
        expect(overlaps).toEqual([]);
        await expectDeviceHasDesired(p, d);
        const want = Array.from({ length: 90 }, (_, i) => i + 1).filter((i) => i % 3 === n).map((i) => 100 + i);
        expect((await getRunning(d)).config.vlans.map((v) => v.id)).toEqual(want);
        console.log(`${d.id}: 30 changes in ${mine.length} applies by ${new Set(mine.map((a) => a.pid)).size} process(es)`);
      }
      // Both processes did work (otherwise this proves nothing about two of them).
      expect(new Set(applies.map((a) => a.pid))).toEqual(new Set(workers.map((w) => w.child.pid)));

      // Clean the devices, through the same workers.
      const back: SyncTarget[] = [];
      for (let i = 1; i <= 90; i++) back.push(...(await contribute(p, `s${i}`, [[devices[i % 3]!.id, null]])));
      await p.port.waitApplied(back, { deadlineMs: 120_000, sessionId: 'cleanup' });
      for (const d of devices) expect((await getRunning(d)).config).toEqual(emptyConfig());
    } finally {
      for (const w of workers) {
        w.child.kill('SIGTERM');
        if (w.child.exitCode === null) await new Promise((r) => w.child.once('exit', r));
      }
      await p.close();
      await t.cleanup();
    }
  }, 240_000);

  it("an INVITE one device's YANG refuses fails with that device's words; get-config shows no trace of it anywhere", async () => {
    // tor1 is a platform whose VXLAN table takes VNIs up to 9999: a deviation of the lab module, so
    // netconfd itself refuses globex's VNI 20002 on tor1, while wan1 and tgw1 take it.
    const yang = join(tmp, 'nvo3-lab-small-vni.yang');
    writeFileSync(
      yang,
      `module nvo3-lab-small-vni {
  yang-version 1;
  namespace "urn:nvo3:lab:small-vni";
  prefix svni;
  import nvo3-lab { prefix nvo; }
  description "A ToR whose VXLAN table holds VNIs 1..9999 only.";
  revision 2026-01-01 { description "First version."; }
  deviation /nvo:nvo/nvo:vni/nvo:id { deviate replace { type uint32 { range "1..9999"; } } }
}
`,
    );
    const [small, pair] = await Promise.all([startNetconfServers({ count: 1, modules: [yang] }), startNetconfServers({ count: 2 })]);
    let c: Chain | null = null;
    try {
      c = await startChain({
        management: [managementOf(small.instances[0]!), managementOf(pair.instances[0]!), managementOf(pair.instances[1]!)],
        syncDeadlineMs: 60_000,
        retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 },
        vnis: [5001, 20002],
      });
      expect((await c.client.invite({ mac: '02:00:00:00:01:01' }, 'acme')).status).toBe(200);
      const before = Object.fromEntries(await Promise.all(CHAIN_DEVICES.map(async (id) => [id, await c!.running(id)] as const)));
      expect(before.tor1!.vnis.map((v) => v.vni)).toEqual([5001]);

      const refused = await c.client.invite({ mac: '02:00:00:00:02:01' }, 'globex');
      expect(refused.status).toBe(500);
      // netconfd's own error-message, attributed to the device that said it.
      expect(refused.reason).toBe("branch np1: tor1: edit-config: invalid-value at /nc:rpc/nc:edit-config/nc:config/nvo:nvo/nvo:vni[nvo:id='20002']/nvo:id: value not in range");
      expect(refused.body).toMatchObject({ error: { details: { device: 'tor1', deviceMessage: 'value not in range', errors: [{ tag: 'invalid-value', appTag: 'not-in-range', info: { 'bad-value': '20002' } }] } } });

      // The proxy rolled the session back: every device has exactly what it had, nothing of globex.
      for (const id of CHAIN_DEVICES) {
        await c.settled(id);
        const now = await c.running(id);
        expect(now).toEqual(before[id]);
        expect(JSON.stringify(now)).not.toMatch(/20002|globex|02:00:00:00:02:01/);
        expect((await c.pipeline.store.status(id)).syncState).toBe('in-sync');
      }
      expect(await new Allocator(c.t.redis, c.t.k).vlanOf('globex', 'pod1')).toBeNull();
    } finally {
      await c?.close();
      await Promise.all([small.stop(), pair.stop()]);
    }
  }, 240_000);
});
