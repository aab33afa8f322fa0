// An independent gateway (test/peers/slixmpp-gateway.py, Debian's python3-slixmpp) behind a real
// Prosody started by this file: it receives nvo's pushes, parses them with ElementTree, answers a
// result or, on demand, an error; nvo handles both, and the peer's announcement.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../support/redis.ts';
import { DeviceStateStore } from '../../../src/store/device-state.ts';
import { XmppDriver, type XmppDevice } from '../../../src/drivers/xmpp/xmpp-driver.ts';
import { XmppError } from '../../../src/drivers/xmpp/xmpp-error.ts';
import { cfg, syncOnce, waitFor, xmppLab, type XmppLab } from './lab.ts';

const PY = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('../../peers/slixmpp-gateway.py', import.meta.url));
// scripts/test.sh installs python3-slixmpp, so a missing import is a broken install: fail, never skip.
const probe = spawnSync(PY, ['-c', 'import slixmpp'], { encoding: 'utf8' });
const importError = probe.status === 0 ? null : `${PY} cannot import slixmpp (Debian package python3-slixmpp, installed by scripts/test.sh): ${(probe.error?.message ?? probe.stderr).trim().split('\n').at(-1)}`;

let lab: XmppLab;
let t: TestRedis;
let store: DeviceStateStore;
let driver: XmppDriver;
let peer: ChildProcess | null = null;
const events: Array<Record<string, unknown>> = [];
const device: XmppDevice = { id: 'slix1', jid: '' };

it('has the independent peer: python3-slixmpp imports', () => {
  expect(importError, importError ?? '').toBeNull();
});

describe('slixmpp gateway peer', () => {
  beforeAll(async () => {
    if (importError) throw new Error(importError);
    lab = await xmppLab(['nvo', 'slix1']);
    device.jid = lab.jid('slix1');
    t = await testRedis();
    store = new DeviceStateStore(t.redis, t.k);
    driver = new XmppDriver({ service: lab.prosody.service, jid: lab.jid('nvo'), password: lab.passwords.nvo!, store, deviceByJid: (bare) => (bare === device.jid ? device : undefined), timeoutMs: 15_000 });
    await driver.start();
    const announced = once(driver, 'announce');
    peer = spawn(PY, [PEER, '--jid', `${device.jid}/gateway`, '--password', lab.passwords.slix1!, '--port', String(lab.prosody.port), '--controller', `${lab.jid('nvo')}/controller`, '--refuse', '2=bad-request/modify', '--refuse', '3=resource-constraint/wait'], { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: peer.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
    let stderr = '';
    peer.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitFor('the slixmpp peer to come online', () => {
      if (peer!.exitCode !== null) throw new Error(`slixmpp peer exited ${peer!.exitCode}: ${stderr}`);
      return events.some((e) => e.event === 'online');
    });
    expect(await announced).toEqual([{ device: 'slix1', revision: 0 }]);
  });

  afterAll(async () => {
    if (peer && peer.exitCode === null) {
      const exited = once(peer, 'exit');
      peer.kill('SIGTERM');
      await exited;
    }
    await driver?.stop();
    await t?.cleanup();
    await lab?.destroy();
  });

  it('delivers a push the peer parses to the same entries, and takes its result as the acknowledgement', async () => {
    const name = 'acme "blue" <&> \'tenant\'';
    await store.setContribution('slix1', 's1', cfg({ vlans: [{ id: 100, name }], vnis: [{ vni: 5000, vlan: 100, encapsulation: 'vxlan' }], macs: [{ vni: 5000, mac: '02:00:00:00:00:01', vtep: '192.0.2.7' }] }));
    const ack = await syncOnce(store, driver, device);
    expect(ack).toMatchObject({ device: 'slix1', revision: 1, mode: 'delta' });
    const got = events.filter((e) => e.event === 'push');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ sender: lab.jid('nvo'), base: '0', revision: '1', remove: [] });
    expect(got[0]!.merge).toEqual([
      { kind: 'vlan', id: '100', name },
      { kind: 'vni', vni: '5000', vlan: '100', encapsulation: 'vxlan' },
      { kind: 'mac', vni: '5000', mac: '02:00:00:00:00:01', vtep: '192.0.2.7' },
    ]);
    expect((await store.status('slix1')).appliedRevision).toBe(1);
  });

  it('turns the peer\'s errors into typed errors: bad-request permanent, resource-constraint transient', async () => {
    await store.setContribution('slix1', 's2', cfg({ macs: [{ vni: 5000, mac: '02:00:00:00:00:02', vtep: '192.0.2.8' }] }));
    const permanent = await syncOnce(store, driver, device).catch((e: unknown) => e);
    expect(permanent).toBeInstanceOf(XmppError);
    expect(permanent).toMatchObject({
      condition: 'bad-request',
      transient: false,
      code: 'invalid-input',
      errorType: 'modify',
      text: 'slixmpp peer refuses revision 2 on demand',
      application: { name: 'bad-value', attrs: { field: 'push@revision' } },
    });
    expect((await store.status('slix1')).appliedRevision).toBe(1);

    await store.setContribution('slix1', 's3', cfg({ vlans: [{ id: 300, name: 'x' }] }));
    const transient = await syncOnce(store, driver, device).catch((e: unknown) => e);
    expect(transient).toMatchObject({ condition: 'resource-constraint', transient: true, code: 'unavailable', errorType: 'wait' });

    // A later revision the peer accepts carries the whole difference from the applied base.
    await store.setContribution('slix1', 's4', cfg({ vlans: [{ id: 400, name: 'y' }] }));
    expect(await syncOnce(store, driver, device)).toMatchObject({ revision: 4, mode: 'delta' });
    const last = events.filter((e) => e.event === 'push').at(-1)!;
    expect(last).toMatchObject({ base: '1', revision: '4' });
    expect((last.merge as Array<{ kind: string }>).map((e) => e.kind).sort()).toEqual(['mac', 'vlan', 'vlan']);
  });
});
