// Driver ↔ two gateway agents through a real Prosody started by this file: pushes in order,
// acknowledged; an offline agent; an agent that never answers; results from a JID that is not the device's.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { testRedis, type TestRedis } from '../../support/redis.ts';
import { DeviceStateStore } from '../../../src/store/device-state.ts';
import { XmppDriver, type XmppDevice } from '../../../src/drivers/xmpp/xmpp-driver.ts';
import { XmppError } from '../../../src/drivers/xmpp/xmpp-error.ts';
import { createXmppClient } from '../../../src/drivers/xmpp/connect.ts';
import { errorElement } from '../../../src/drivers/xmpp/protocol.ts';
import { GatewayAgent } from '../../../src/agent/gateway/gateway-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { cfg, controllerDriver, syncOnce, syncWithRetry, waitFor, xmppLab, type XmppLab } from './lab.ts';

let lab: XmppLab;
let t: TestRedis;
let store: DeviceStateStore;
let driver: XmppDriver;
const devices: Record<string, XmppDevice> = {};
const planes: Record<string, RecorderDataPlane> = {};
const agents: Record<string, GatewayAgent> = {};

async function startAgent(id: string): Promise<GatewayAgent> {
  const agent = new GatewayAgent({ service: lab.prosody.service, jid: lab.jid(id), password: lab.passwords[id]!, controller: lab.jid('nvo'), dataPlane: planes[id]! });
  const announced = once(agent, 'announced');
  await agent.start();
  await announced;
  agents[id] = agent;
  return agent;
}

beforeAll(async () => {
  lab = await xmppLab(['nvo', 'gw1', 'gw2', 'gw3', 'gw4', 'gw5']);
  t = await testRedis();
  store = new DeviceStateStore(t.redis, t.k);
  for (const id of ['gw1', 'gw2', 'gw3', 'gw5']) devices[id] = { id, jid: lab.jid(id) };
  driver = await controllerDriver(lab, store, devices, 15_000);
  for (const id of ['gw1', 'gw2']) {
    planes[id] = new RecorderDataPlane();
    await startAgent(id);
  }
});

afterAll(async () => {
  for (const a of Object.values(agents)) await a.stop();
  await driver?.stop();
  await t?.cleanup();
  await lab?.destroy();
});

const m1 = { vni: 5000, mac: '02:00:00:00:00:01', vtep: '192.0.2.11' };
const m2 = { vni: 6000, mac: '02:00:00:00:00:02', vtep: '192.0.2.12' };

describe('XMPP driver and gateway agents', () => {
  it('pushes that add and delete VLAN, VNI and MAC entries reach both agents in order and are acknowledged', async () => {
    const steps: Array<[string, Parameters<typeof cfg>[0] | null]> = [
      ['s1', { vlans: [{ id: 100, name: 'acme <blue> & "co"' }], vnis: [{ vni: 5000, vlan: 100, encapsulation: 'vxlan' }], macs: [m1] }],
      ['s2', { vlans: [{ id: 200, name: 'beta' }], vnis: [{ vni: 6000, vlan: 200, encapsulation: 'vxlan', mcastGroup: '239.1.1.1' }], macs: [m2], floods: [{ vni: 6000, vtep: '192.0.2.12' }] }],
      ['s1', null],
    ];
    const acked: Record<string, number[]> = { gw1: [], gw2: [] };
    for (const [owner, frag] of steps) {
      for (const id of ['gw1', 'gw2']) {
        await store.setContribution(id, owner, frag ? cfg(frag) : null);
        const ack = await syncOnce(store, driver, devices[id]!);
        expect(ack).toMatchObject({ device: id, mode: 'delta' });
        acked[id]!.push(ack!.revision);
      }
    }
    for (const id of ['gw1', 'gw2']) {
      const plane = planes[id]!;
      expect(acked[id]).toEqual([1, 2, 3]);
      // Applied once each, in revision order, and nothing else reached the data plane.
      expect(plane.history.map((h) => [h.op, h.revision])).toEqual([['apply', 1], ['apply', 2], ['apply', 3]]);
      expect(plane.history[2]!.change.remove.vlans).toEqual([{ id: 100, name: 'acme <blue> & "co"' }]);
      expect(plane.history[2]!.change.remove.vnis.map((v) => v.vni)).toEqual([5000]);
      expect(plane.history[2]!.change.remove.macs).toEqual([m1]);
      expect(await plane.read()).toEqual((await store.desired(id)).config);
      expect((await store.status(id)).syncState).toBe('in-sync');
      expect(agents[id]!.revision).toBe(3);
      // The state query reads the same back over XMPP.
      expect(await driver.state(devices[id]!)).toEqual({ revision: 3, config: (await store.desired(id)).config });
    }
  });

  it('fails transiently while an agent is offline and converges when it returns', async () => {
    await agents.gw2!.stop();
    delete agents.gw2;
    await store.setContribution('gw2', 's3', cfg({ macs: [{ vni: 6000, mac: '02:00:00:00:00:03', vtep: '192.0.2.13' }] }));
    await store.setContribution('gw2', 's4', cfg({ vlans: [{ id: 300, name: 'gamma' }] }));
    const err = await syncOnce(store, driver, devices.gw2!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XmppError);
    expect(err).toMatchObject({ transient: true, condition: 'service-unavailable', code: 'unavailable' });
    expect((await store.status('gw2')).syncState).toBe('pending');
    expect(planes.gw2!.history).toHaveLength(3);

    // A restarted agent process knows no revision: it announces 0 and gets the full desired state.
    const resynced = once(driver, 'resynced');
    await startAgent('gw2');
    const [ack] = (await resynced) as [{ device: string; revision: number; mode: string }];
    expect(ack).toMatchObject({ device: 'gw2', revision: 5, mode: 'full' });
    // The retried job then finds nothing left to do (or an 'already' answer): never a second apply.
    await syncWithRetry(store, driver, devices.gw2!);
    const desired = await store.desired('gw2');
    expect(await planes.gw2!.read()).toEqual(desired.config);
    expect(await store.status('gw2')).toMatchObject({ syncState: 'in-sync', appliedRevision: 5 });
    const last = planes.gw2!.history.slice(3);
    expect(last.map((h) => [h.op, h.revision])).toEqual([['reconcile', 5]]);
    // Only what was missing changed on the data plane.
    expect(last[0]!.change.merge.macs.map((m) => m.mac)).toEqual(['02:00:00:00:00:03']);
    expect(last[0]!.change.merge.vlans.map((v) => v.id)).toEqual([300]);
    expect(last[0]!.change.remove).toEqual(cfg({}));
  });

  it('times a push out when the agent is online but never answers: transient, and nothing left pending', async () => {
    // A second controller session (its own resource) with a 1 s deadline; gw5 takes the IQ and holds it.
    const slow = new XmppDriver({ service: lab.prosody.service, jid: `${lab.jid('nvo')}/slow`, password: lab.passwords.nvo!, store, deviceByJid: () => undefined, timeoutMs: 1_000 });
    const gw5 = createXmppClient({ service: lab.prosody.service, jid: lab.jid('gw5'), password: lab.passwords.gw5! }, 'gateway');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const seen: Array<{ inFlight: number }> = [];
    let pushId = '';
    gw5.middleware.use(async (ctx: unknown, next: () => Promise<unknown>) => {
      const { stanza } = ctx as { stanza: Element };
      if (stanza.name !== 'iq' || stanza.attrs.type !== 'set') return next();
      seen.push({ inFlight: slow.inFlight });
      pushId = stanza.attrs.id as string;
      await held;
      return xml('applied', { xmlns: 'urn:nvo:push:1', revision: '1' });
    });
    // What gw5 put on the wire: the late answer must really leave it, with the push's id.
    const lateResults: string[] = [];
    gw5.on('send', (el: Element) => {
      if (el.name === 'iq' && el.attrs.type === 'result' && el.getChild('applied')) lateResults.push(el.attrs.id as string);
    });
    await slow.start();
    await gw5.start();
    try {
      await store.setContribution('gw5', 's1', cfg({ vlans: [{ id: 10, name: 'x' }] }));
      const err = await syncOnce(store, slow, devices.gw5!).catch((e: unknown) => e);
      // The IQ did reach the peer while the driver was waiting for it: the timeout is the driver's own.
      expect(seen).toEqual([{ inFlight: 1 }]);
      expect(err).toBeInstanceOf(XmppError);
      expect(err).toMatchObject({ device: 'gw5', condition: 'timeout', transient: true, code: 'unavailable', text: 'no answer within 1000 ms' });
      expect(slow.inFlight).toBe(0);
      expect(await store.status('gw5')).toMatchObject({ syncState: 'pending', appliedRevision: 0 });
      // The answer that comes after the deadline matches nothing: dropped, not taken as an acknowledgement.
      release();
      await waitFor('the late answer to be sent', () => lateResults.length > 0);
      expect(lateResults).toEqual([pushId]);
      // Then a query of gw5's own to the driver's session: the server delivers stanzas between two
      // entities in order (RFC 6120 §10.1), so once its answer is back the late result reached the
      // driver's connection, and went through its handler, before it. (The driver answers an IQ it
      // has no handler for with service-unavailable, RFC 6120 §8.2.3.)
      const probe = await gw5.iqCaller.request(xml('iq', { type: 'get', to: slow.jid! }, xml('query', { xmlns: 'urn:nvo:test:probe' })), 15_000).catch((e: unknown) => e);
      expect((probe as { condition?: string }).condition).toBe('service-unavailable');
      expect(slow.inFlight).toBe(0);
      expect(slow.ignoredReplies).toBe(0);
      expect((await store.status('gw5')).appliedRevision).toBe(0);
    } finally {
      release();
      gw5.reconnect.stop();
      await gw5.stop();
      await slow.stop();
    }
  });

  it('ignores a result from a JID other than the device\'s and takes the device\'s own answer', async () => {
    // gw3 is a hand-driven peer; gw4 tries to answer gw3's push with a forged result.
    const gw3 = createXmppClient({ service: lab.prosody.service, jid: lab.jid('gw3'), password: lab.passwords.gw3! }, 'gateway');
    const gw4 = createXmppClient({ service: lab.prosody.service, jid: lab.jid('gw4'), password: lab.passwords.gw4! }, 'gateway');
    gw3.middleware.use(async (ctx: unknown, next: () => Promise<unknown>) => {
      const { stanza } = ctx as { stanza: Element };
      if (stanza.name !== 'iq' || stanza.attrs.type !== 'set') return next();
      await gw4.send(xml('iq', { type: 'result', id: stanza.attrs.id as string, to: stanza.attrs.from as string }, xml('applied', { xmlns: 'urn:nvo:push:1', revision: '1' })));
      await waitFor('the driver to drop the forged result', () => driver.ignoredReplies === 1);
      return errorElement('modify', 'bad-request', 'gw3 refuses this on purpose', { name: 'bad-value', attrs: { field: 'push/merge/vlan[0]@id' } });
    });
    await gw3.start();
    await gw4.start();
    try {
      await store.setContribution('gw3', 's1', cfg({ vlans: [{ id: 10, name: 'x' }] }));
      const err = await syncOnce(store, driver, devices.gw3!).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(XmppError);
      expect(err).toMatchObject({ condition: 'bad-request', transient: false, code: 'invalid-input', text: 'gw3 refuses this on purpose', application: { name: 'bad-value', attrs: { field: 'push/merge/vlan[0]@id' } } });
      expect(driver.ignoredReplies).toBe(1);
      expect((await store.status('gw3')).appliedRevision).toBe(0);
    } finally {
      gw3.reconnect.stop();
      gw4.reconnect.stop();
      await gw3.stop();
      await gw4.stop();
    }
  });

  it('refuses an announcement from a JID that is no device\'s', async () => {
    const gw4 = createXmppClient({ service: lab.prosody.service, jid: lab.jid('gw4'), password: lab.passwords.gw4! }, 'gateway');
    await gw4.start();
    try {
      const err = await gw4.iqCaller.request(xml('iq', { type: 'set', to: driver.jid! }, xml('announce', { xmlns: 'urn:nvo:push:1', revision: '0' })), 15_000).catch((e: unknown) => e);
      const el = (err as { element?: Element }).element;
      expect(el).toBeDefined();
      expect(XmppError.fromElement('gw4', el)).toMatchObject({ condition: 'forbidden', transient: false });
    } finally {
      gw4.reconnect.stop();
      await gw4.stop();
    }
  });
});
