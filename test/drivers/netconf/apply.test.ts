// Applying DeviceChanges to real netconfd servers: the acceptance of the NETCONF driver. Read-back
// by nvo's client and by python3-ncclient (an independent client).
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetconfServers, type NetconfInstance, type NetconfServers } from '../../../lab/netconf-server.ts';
import { applyDeviceChange } from '../../../src/drivers/netconf/apply.ts';
import { applyToDevice, checkDevice, getRunning, renderDiff, withSession } from '../../../src/drivers/netconf/device-ops.ts';
import { getDialect } from '../../../src/drivers/netconf/dialects/registry.ts';
import { NetconfError } from '../../../src/drivers/netconf/netconf-error.ts';
import * as op from '../../../src/drivers/netconf/operations.ts';
import { RpcError } from '../../../src/drivers/netconf/rpc-error.ts';
import { NetconfSession } from '../../../src/drivers/netconf/rpc.ts';
import type { Device } from '../../../src/model/device.ts';
import { diffConfig, emptyConfig, type DeviceConfig } from '../../../src/model/device-config.ts';
import { labTor } from '../../support/netconf-device.ts';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const lab = getDialect('nvo3-lab');

let servers: NetconfServers;
let tors: Device[];
let runningOnly: Device;
let lockTarget: Device;
let crashTarget: Device;


beforeAll(async () => {
  servers = await startNetconfServers({ instances: [{}, {}, { target: 'running' }, {}, {}] });
  const [a, b, r, l, c] = servers.instances as NetconfInstance[];
  tors = [labTor('tor1', a!, '192.0.2.11'), labTor('tor2', b!, '192.0.2.12')];
  runningOnly = labTor('gw1', r!, '192.0.2.21');
  lockTarget = labTor('tor3', l!, '192.0.2.13');
  crashTarget = labTor('tor4', c!, '192.0.2.14');
});
afterAll(async () => {
  await servers?.stop();
});

async function ncclientRead(device: Device): Promise<DeviceConfig> {
  const m = device.management!;
  const { stdout } = await run('/usr/bin/python3', [join(here, 'ncclient-get.py'), m.host, String(m.port), m.username, m.password!, lab.filter], { timeout: 60_000 });
  return lab.parseConfig(stdout);
}

const red = { name: 'red', rd: '65000:10', importTargets: ['65000:10'], exportTargets: ['65000:10'] };
const v1: DeviceConfig = {
  ...emptyConfig(),
  vrfs: [red],
  vlans: [{ id: 10, name: 'tenant-a' }, { id: 20, name: 'tenant-b' }],
  vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan', vrf: 'red', mcastGroup: '239.1.1.10' }, { vni: 5020, vlan: 20, encapsulation: 'vxlan' }],
  floods: [{ vni: 5010, vtep: '192.0.2.12' }],
  macs: [{ vni: 5010, mac: '02:00:00:00:00:01', vtep: '192.0.2.12' }, { vni: 5020, mac: '02:00:00:00:00:02', vtep: '192.0.2.12' }],
  irbs: [{ vlan: 10, vrf: 'red', address: '198.51.100.1/24' }],
};
// change: VLAN renamed, VNI moved to another VLAN and out of the VRF, MAC moved to another VTEP
const v2: DeviceConfig = {
  ...v1,
  vlans: [{ id: 10, name: 'tenant-a-renamed' }, { id: 20, name: 'tenant-b' }, { id: 30, name: 'tenant-c' }],
  vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan', vrf: 'red', mcastGroup: '239.1.1.10' }, { vni: 5020, vlan: 30, encapsulation: 'vxlan' }],
  macs: [{ vni: 5010, mac: '02:00:00:00:00:01', vtep: '192.0.2.13' }, { vni: 5020, mac: '02:00:00:00:00:02', vtep: '192.0.2.12' }],
};
// delete: VNI 5020 (with its MAC), VLANs 20 and 30, the other MAC
const v3: DeviceConfig = { ...v2, vlans: [{ id: 10, name: 'tenant-a-renamed' }], vnis: [v2.vnis[0]!], macs: [] };

describe('apply on two netconfd instances', () => {
  it('adds, changes and deletes VLANs, VNIs and MACs; nvo and ncclient read back the same', async () => {
    let applied = emptyConfig();
    for (const desired of [v1, v2, v3, emptyConfig()]) {
      for (const device of tors) {
        const change = diffConfig(applied, desired);
        const res = await applyToDevice(device, change);
        expect(res.path).toBe('candidate');
        expect(res.readBack).toEqual(diffConfig(emptyConfig(), desired).merge);
        expect((await getRunning(device)).config).toEqual(res.readBack);
        expect(await ncclientRead(device)).toEqual(res.readBack);
        expect((await checkDevice(device, desired)).inSync).toBe(true);
      }
      applied = desired;
    }
  }, 120_000);

  it('renders the diff without sending it', async () => {
    const xml = renderDiff(tors[0]!, emptyConfig(), v1);
    expect(xml).toBe(lab.render(diffConfig(emptyConfig(), v1), { id: 'tor1', vtep: '192.0.2.11' }));
    expect((await getRunning(tors[0]!)).config).toEqual(emptyConfig());
  });
});

describe('a YANG violation on the device', () => {
  const cases: [string, DeviceConfig, string, string][] = [
    ['VLAN 5000', { ...emptyConfig(), vlans: [{ id: 10, name: 'ok' }, { id: 5000, name: 'too-big' }] }, "vlan[nvo:id='5000']", 'value not in range'],
    ['a bad MAC', { ...v1, macs: [{ vni: 5010, mac: 'zz:00:00:00:00:01', vtep: '192.0.2.12' }] }, 'mac', 'pattern'],
  ];
  for (const [what, bad, pathPart, message] of cases) {
    it(`${what}: typed rpc-error with the device's path and message; candidate discarded, lock released, running unchanged`, async () => {
      const device = tors[0]!;
      const before = await applyToDevice(device, diffConfig(emptyConfig(), { ...emptyConfig(), vlans: [{ id: 99, name: 'before' }] }));
      const err = await applyToDevice(device, diffConfig(before.readBack!, bad)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      const e = err as RpcError;
      expect(e.tag).toBe('invalid-value');
      expect(e.path).toContain(pathPart);
      expect(e.deviceMessage).toContain(message);
      expect(e.message).toContain(e.path!);
      expect(e.transient).toBe(false);
      await withSession(device, async (s) => {
        // the lock is free: we get it at the first attempt
        await op.lock(s, 'candidate', { retries: 0 });
        const cand = await op.getConfig(s, 'candidate', lab.filter);
        const running = await op.getConfig(s, 'running', lab.filter);
        expect(lab.parse!(cand)).toEqual(lab.parse!(running));
        expect(lab.parse!(running)).toEqual(before.readBack);
        await op.unlock(s, 'candidate');
      });
      await applyToDevice(device, diffConfig(before.readBack!, emptyConfig()));
    });
  }
});

describe('the read-back of just the change (readBack: change, as the pipeline applies)', () => {
  it('netconfd answers the key filter with exactly the touched entries; a removed one is absent', async () => {
    const device = lockTarget;
    const m = device.management!;
    const s = await NetconfSession.open({ host: m.host, port: m.port, username: m.username, password: m.password, hostKeyCheck: 'off' });
    const opts = { dialect: lab, device: { id: device.id, vtep: device.vtep }, readBack: 'change' as const };
    try {
      await applyDeviceChange(s, diffConfig(emptyConfig(), v1), opts);
      const r = await applyDeviceChange(s, diffConfig(v1, v2), opts);
      // v1→v2 touches VLANs 10 and 30, VNI 5020 and MAC …:01; the rest of v2 is on the device but not read
      expect(r.readBack).toEqual({ ...emptyConfig(), vlans: [v2.vlans[0], v2.vlans[2]], vnis: [v2.vnis[1]], macs: [v2.macs[0]] });
      const back = await applyDeviceChange(s, diffConfig(v2, emptyConfig()), opts);
      expect(back.readBack).toEqual(emptyConfig());
      expect(lab.parse!(await op.getConfig(s, 'running', lab.filter))).toEqual(emptyConfig());
    } finally {
      await op.closeSession(s);
    }
  });
});

describe('the validate-before-commit quirk of yuma123', () => {
  it.each(['all', 'change'] as const)('is why the lab dialect skips <validate>: with it the commit applies nothing, and read-back (%s) catches that', async (readBack) => {
    const device = tors[1]!;
    const m = device.management!;
    const s = await NetconfSession.open({ host: m.host, port: m.port, username: m.username, password: m.password, hostKeyCheck: 'off' });
    try {
      const naive = { ...lab, quirks: { validateBeforeCommit: true } };
      const err = await applyDeviceChange(s, diffConfig(emptyConfig(), v1), { dialect: naive, device: { id: device.id, vtep: device.vtep }, readBack }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetconfError);
      expect((err as NetconfError).netconfCode).toBe('readback-mismatch');
      expect(lab.parse!(await op.getConfig(s, 'running', lab.filter))).toEqual(emptyConfig());
      await op.lock(s, 'candidate', { retries: 0 }); // released by the failed apply
      await op.unlock(s, 'candidate');
    } finally {
      await op.closeSession(s);
    }
  });
});

describe('writable-running only (netconfd --target=running)', () => {
  it('edits running under a lock; a failing edit is rolled back whole', async () => {
    const res = await applyToDevice(runningOnly, diffConfig(emptyConfig(), v1));
    expect(res.path).toBe('running');
    expect(res.readBack).toEqual(diffConfig(emptyConfig(), v1).merge);
    const bad = { ...v1, vlans: [...v1.vlans, { id: 40, name: 'would-land' }, { id: 5000, name: 'x' }] };
    const err = await applyToDevice(runningOnly, diffConfig(v1, bad)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((await getRunning(runningOnly)).config).toEqual(res.readBack);
  });

  // netconfd rejects a failing edit whole under any error-option, so the test above would pass even
  // if apply stopped asking for rollback-on-error: what apply sends is checked on the wire here.
  it('sends the edit to <running/> with rollback-on-error, good edit or bad', async () => {
    const m = runningOnly.management!;
    const s = await NetconfSession.open({ host: m.host, port: m.port, username: m.username, password: m.password, hostKeyCheck: 'pinned', hostKey: m.hostKey });
    const sent: string[] = [];
    const rpc = s.rpc.bind(s);
    s.rpc = (body, o) => {
      sent.push(body);
      return rpc(body, o);
    };
    const opts = { dialect: lab, device: { id: runningOnly.id, vtep: runningOnly.vtep } };
    const edits = () => sent.filter((b) => b.startsWith('<edit-config>'));
    try {
      expect(s.has('urn:ietf:params:netconf:capability:rollback-on-error:1.0')).toBe(true);
      const current = (await getRunning(runningOnly)).config;
      const bad = { ...current, vlans: [...current.vlans, { id: 41, name: 'would-land' }, { id: 5000, name: 'x' }] };
      const err = await applyDeviceChange(s, diffConfig(current, bad), opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      const good = await applyDeviceChange(s, diffConfig(current, emptyConfig()), opts);
      expect(good.path).toBe('running');
      expect(edits()).toHaveLength(2);
      for (const body of edits()) {
        expect(body).toMatch(/^<edit-config><target><running\/><\/target><default-operation>merge<\/default-operation><error-option>rollback-on-error<\/error-option><config[ >]/);
        expect(body).not.toContain('<candidate/>');
      }
      // locked and unlocked on running, never on a candidate it does not have
      expect(sent.filter((b) => b.startsWith('<lock>'))).toEqual(['<lock><target><running/></target></lock>', '<lock><target><running/></target></lock>']);
      expect(sent.some((b) => b.startsWith('<commit'))).toBe(false);
      expect((await getRunning(runningOnly)).config).toEqual(emptyConfig());
    } finally {
      await op.closeSession(s);
    }
  });
});

describe('locking', () => {
  it('retries while another session holds the lock, then fails naming that session', async () => {
    const m = lockTarget.management!;
    const holder = await NetconfSession.open({ host: m.host, port: m.port, username: m.username, password: m.password, hostKeyCheck: 'off' });
    try {
      await op.lock(holder, 'candidate');
      const started = Date.now();
      const err = await applyToDevice(lockTarget, diffConfig(emptyConfig(), v1), { lock: { retries: 3, backoffMs: 50 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetconfError);
      const e = err as NetconfError;
      expect(e.netconfCode).toBe('lock-denied');
      expect(e.transient).toBe(true);
      expect(e.details).toMatchObject({ holderSessionId: holder.sessionId, attempts: 4 });
      expect(e.message).toContain(`locked by session ${holder.sessionId}`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 50 * 0.75);
      await op.unlock(holder, 'candidate');
      // released: the same apply now goes through
      expect((await applyToDevice(lockTarget, diffConfig(emptyConfig(), v1))).readBack).toEqual(diffConfig(emptyConfig(), v1).merge);
    } finally {
      await op.closeSession(holder);
    }
  });
});

describe('confirmed commit', () => {
  it('is rolled back by the device when the client dies before confirming; check then reports out of sync', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-apply.ts'), JSON.stringify(crashTarget), JSON.stringify(diffConfig(emptyConfig(), v1))], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errOut = '';
    child.stderr.on('data', (d: Buffer) => (errOut += d));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          if (out.includes('COMMIT-PENDING')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited ${code} before the commit: ${errOut}`)));
      });
      // between commit and confirm the device runs the new configuration
      expect((await checkDevice(crashTarget, v1)).inSync).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    let check = await checkDevice(crashTarget, v1);
    for (let i = 0; i < 100 && check.inSync; i++) {
      await new Promise((r) => setTimeout(r, 200));
      check = await checkDevice(crashTarget, v1);
    }
    expect(check.inSync).toBe(false);
    expect(check.missing).toEqual(diffConfig(emptyConfig(), v1).merge);
    expect((await getRunning(crashTarget)).config).toEqual(emptyConfig());
  }, 60_000);
});
