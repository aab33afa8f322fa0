// `nvo gateway-agent` as the process users run (bin/nvo.js), against a real Prosody started by this
// file: it logs in, announces its revision, takes the driver's push and answers it, reports its state,
// and exits 0 on SIGTERM. Bad options end at once with a line naming the option and a non-zero exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayAgentConfig } from '../../../src/agent/gateway/config.ts';
import { gatewayDataPlane } from '../../../src/agent/gateway/run.ts';
import { LinuxDataPlane } from '../../../src/dataplane/linux/linux-data-plane.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import type { XmppDevice, XmppDriver } from '../../../src/drivers/xmpp/xmpp-driver.ts';
import { DeviceStateStore } from '../../../src/store/device-state.ts';
import { NVO_BIN, runNvo } from '../../support/nvo-cli.ts';
import { testRedis, type TestRedis } from '../../support/redis.ts';
import { cfg, controllerDriver, syncOnce, xmppLab, type XmppLab } from '../../drivers/xmpp/lab.ts';

let lab: XmppLab;
let t: TestRedis;
let store: DeviceStateStore;
let driver: XmppDriver;
let dir: string;
let proc: ChildProcess | null = null;
const devices: Record<string, XmppDevice> = {};

beforeAll(async () => {
  lab = await xmppLab(['nvo', 'gw1']);
  t = await testRedis();
  store = new DeviceStateStore(t.redis, t.k);
  devices.gw1 = { id: 'gw1', jid: lab.jid('gw1') };
  driver = await controllerDriver(lab, store, devices, 15_000);
  dir = mkdtempSync(join(tmpdir(), 'nvo-gateway-cli-'));
  writeFileSync(join(dir, 'gw1.password'), `${lab.passwords.gw1}\nthe second line is not part of it\n`);
});

afterAll(async () => {
  if (proc?.pid && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
  await driver?.stop();
  await t?.cleanup();
  await lab?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('nvo gateway-agent', () => {
  it('runs until SIGTERM: announces, applies the driver\'s push, answers a state query, exits 0', async () => {
    const announced = once(driver, 'announce');
    const args = ['gateway-agent', '--jid', lab.jid('gw1'), '--password-file', join(dir, 'gw1.password'), '--service', lab.prosody.service, '--controller', lab.jid('nvo'), '--data-plane', 'recorder'];
    proc = spawn(process.execPath, [NVO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(proc, 'exit');
    await expect.poll(() => err, { timeout: 30_000 }).toContain(`gateway-agent ${lab.jid('gw1')}: announced revision 0 to ${lab.jid('nvo')}`);
    expect(await announced).toEqual([{ device: 'gw1', revision: 0 }]);

    await store.setContribution('gw1', 's1', cfg({ vlans: [{ id: 100, name: 'acme' }], vnis: [{ vni: 5000, vlan: 100, encapsulation: 'vxlan' }], macs: [{ vni: 5000, mac: '02:00:00:00:00:01', vtep: '192.0.2.11' }] }));
    expect(await syncOnce(store, driver, devices.gw1!)).toMatchObject({ device: 'gw1', revision: 1, mode: 'delta' });
    await expect.poll(() => err, { timeout: 10_000 }).toContain(`gateway-agent ${lab.jid('gw1')}: applied revision 1 (delta)`);
    // What the process's data plane holds, read back over XMPP, is the desired state.
    expect(await driver.state(devices.gw1!)).toEqual({ revision: 1, config: (await store.desired('gw1')).config });

    process.kill(proc.pid!, 'SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, err: code === 0 ? '' : err }).toEqual({ code: 0, signal: null, err: '' });
  }, 60_000);

  const bad: Array<[string, (pw: string) => string[], RegExp]> = [
    ['without --jid', (pw) => ['--password-file', pw, '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test'], /^nvo: error: invalid gateway agent options: --jid: is required$/m],
    ['with an unreadable password file', () => ['--jid', 'gw1@nvo3.test', '--password-file', join(dir, 'missing'), '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test'], /^nvo: error: passwordFile: cannot read .*missing: ENOENT$/m],
    ['without a password file', () => ['--jid', 'gw1@nvo3.test', '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test'], /^nvo: error: invalid gateway agent options: --password-file: is required$/m],
    ['with a service that is not xmpp://', (pw) => ['--jid', 'gw1@nvo3.test', '--password-file', pw, '--service', 'http://127.0.0.1:9', '--controller', 'nvo@nvo3.test'], /: --service: must be an xmpp:\/\/host:port/],
    ['with a controller that is not a JID', (pw) => ['--jid', 'gw1@nvo3.test', '--password-file', pw, '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo3.test'], /: --controller: must be a JID/],
    ['with an unknown data plane', (pw) => ['--jid', 'gw1@nvo3.test', '--password-file', pw, '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test', '--data-plane', 'dpdk'], /: --data-plane: must be recorder or linux$/m],
    ['with --dst-port but no --data-plane', (pw) => ['--jid', 'gw1@nvo3.test', '--password-file', pw, '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test', '--dst-port', '4790'], /: --data-plane: is required with --dst-port: give --data-plane linux$/m],
    ['with the linux data plane but no --vtep', (pw) => ['--jid', 'gw1@nvo3.test', '--password-file', pw, '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test', '--data-plane', 'linux'], /: --vtep: is required$/m],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses to start ${what}: exit 2 and one line naming the option`, async () => {
      const r = await runNvo(['gateway-agent', ...args(join(dir, 'gw1.password'))]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }, 30_000);
  }

  // Started before its XMPP server (a reboot, a supervisor starting things in any order): it keeps
  // trying with backoff, one line per failed attempt with the socket's own words, and announces as
  // soon as the server is up. The lab's Prosody is stopped for this and started again on its port.
  it('keeps trying to log in while the XMPP server is down, then announces once it is up', async () => {
    await lab.prosody.stop();
    const announced = once(driver, 'announce');
    const args = ['gateway-agent', '--jid', lab.jid('gw1'), '--password-file', join(dir, 'gw1.password'), '--service', lab.prosody.service, '--controller', lab.jid('nvo')];
    proc = spawn(process.execPath, [NVO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(proc, 'exit');
    const failed = (n: number) => new RegExp(`^gateway-agent ${lab.jid('gw1')}: cannot log in at ${lab.prosody.service} \\(attempt ${n}\\): connect ECONNREFUSED 127\\.0\\.0\\.1:${lab.prosody.port}; next try in \\d+\\.\\d s$`, 'm');
    await expect.poll(() => err, { timeout: 30_000 }).toMatch(failed(3));
    expect(proc.exitCode).toBeNull();
    // Nothing but the attempt lines so far: one per attempt, in order.
    const lines = err.trim().split('\n');
    lines.forEach((l, i) => expect(l).toMatch(failed(i + 1)));

    await lab.prosody.start();
    await expect.poll(() => err, { timeout: 60_000 }).toContain(`gateway-agent ${lab.jid('gw1')}: announced revision 0 to ${lab.jid('nvo')}`);
    expect(await announced).toEqual([{ device: 'gw1', revision: 0 }]);
    expect(err).toContain(`gateway-agent ${lab.jid('gw1')}: online at ${lab.prosody.service}\n`);

    process.kill(proc.pid!, 'SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('stops retrying on SIGTERM and exits 0', async () => {
    proc = spawn(process.execPath, [NVO_BIN, 'gateway-agent', '--jid', 'gw1@nvo3.test', '--password-file', join(dir, 'gw1.password'), '--service', 'xmpp://127.0.0.1:9', '--controller', 'nvo@nvo3.test'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(proc, 'exit');
    await expect.poll(() => err, { timeout: 30_000 }).toMatch(/^gateway-agent gw1@nvo3\.test: cannot log in at xmpp:\/\/127\.0\.0\.1:9 \(attempt 1\): connect ECONNREFUSED/m);
    process.kill(proc.pid!, 'SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('a wrong password is permanent: exit 1 with one line carrying the server\'s refusal', async () => {
    writeFileSync(join(dir, 'wrong.password'), 'not-the-password\n');
    const r = await runNvo(['gateway-agent', '--jid', lab.jid('gw1'), '--password-file', join(dir, 'wrong.password'), '--service', lab.prosody.service, '--controller', lab.jid('nvo')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^nvo: error: gateway agent ${lab.jid('gw1')}: the XMPP server at ${lab.prosody.service} refused the login: not-authorized\\b`));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('takes a YAML file (password file relative to it), flags winning, and builds the data plane it names', async () => {
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, ['jid: gw1@nvo3.test', 'passwordFile: gw1.password', 'service: xmpp://127.0.0.1:5222', 'controller: nvo@nvo3.test', 'dataPlane: { kind: linux, vtep: 192.0.2.21, netns: gw1, dstPort: 4790 }', ''].join('\n'));
    const c = loadGatewayAgentConfig(file, { controller: 'nvo@nvo3.test/other' });
    expect(c).toMatchObject({ jid: 'gw1@nvo3.test', controller: 'nvo@nvo3.test/other', passwordValue: lab.passwords.gw1, dataPlane: { kind: 'linux', vtep: '192.0.2.21', netns: 'gw1', dstPort: 4790 } });
    const linux = await gatewayDataPlane(c.dataPlane);
    expect(linux).toBeInstanceOf(LinuxDataPlane);
    expect((linux as LinuxDataPlane).runner.netns).toBe('gw1');
    expect(await gatewayDataPlane(loadGatewayAgentConfig(file, { dataPlane: { kind: 'recorder' } }).dataPlane)).toBeInstanceOf(RecorderDataPlane);
    writeFileSync(file, 'jid: gw1@nvo3.test\npasswordFile: gw1.password\nservice: xmpp://127.0.0.1:5222\ncontroller: nvo@nvo3.test\nsubnett: x\n');
    expect(() => loadGatewayAgentConfig(file)).toThrow(/^invalid gateway agent config \S*gw\.yaml: subnett: unknown field$/);
  });
});
