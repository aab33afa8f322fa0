// The gateway agent against hand-written IQs through a real Prosody (started by this file): every
// malformed or unwelcome request gets an IQ error with a precise condition, nothing reaches the data
// plane, and the agent goes on applying good pushes.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { createXmppClient } from '../../../src/drivers/xmpp/connect.ts';
import { NS_PUSH, readEntries } from '../../../src/drivers/xmpp/protocol.ts';
import { XmppError } from '../../../src/drivers/xmpp/xmpp-error.ts';
import { GatewayAgent } from '../../../src/agent/gateway/gateway-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { runGatewayAgent } from '../../../src/agent/gateway/run.ts';
import { waitFor, xmppLab, type XmppLab } from '../../drivers/xmpp/lab.ts';

let lab: XmppLab;
let controller: Client;
let intruder: Client;
let agent: GatewayAgent;
const plane = new RecorderDataPlane();
const announcements: string[] = [];

function client(user: string, resource: string): Client {
  return createXmppClient({ service: lab.prosody.service, jid: lab.jid(user), password: lab.passwords[user]! }, resource);
}

/** Sends one IQ to the agent; resolves with the result payload or the error as an XmppError. */
async function ask(from: Client, type: 'get' | 'set', payload: Element, to = 'gw1'): Promise<Element | XmppError> {
  try {
    const reply = await from.iqCaller.request(xml('iq', { type, to: `${lab.jid(to)}/gateway` }, payload), 15_000);
    return reply.getChildElements()[0]!;
  } catch (e) {
    const el = (e as { element?: Element }).element;
    if (!el) throw e;
    return XmppError.fromElement('gw1', el);
  }
}

const push = (attrs: Record<string, string>, ...entries: Element[]) => xml('push', { xmlns: NS_PUSH, ...attrs }, xml('merge', {}, ...entries));
const vlan = (id: string, name = 'v') => xml('vlan', { id, name });

beforeAll(async () => {
  lab = await xmppLab(['nvo', 'gw1', 'gw2', 'mallory']);
  controller = client('nvo', 'controller');
  controller.iqCallee.set(NS_PUSH, 'announce', (ctx: unknown) => {
    announcements.push(String((ctx as { element: Element }).element.attrs.revision));
    return {};
  });
  intruder = client('mallory', 'controller');
  await controller.start();
  await intruder.start();
  agent = new GatewayAgent({ service: lab.prosody.service, jid: lab.jid('gw1'), password: lab.passwords.gw1!, controller: lab.jid('nvo'), dataPlane: plane });
  const announced = once(agent, 'announced');
  await agent.start();
  await announced;
});

afterAll(async () => {
  await agent?.stop();
  for (const c of [controller, intruder]) {
    c?.reconnect.stop();
    await c?.stop().catch(() => undefined);
  }
  await lab?.destroy();
});

describe('gateway agent', () => {
  it('announces its revision to the controller when it comes online', () => {
    expect(announcements).toEqual(['0']);
  });

  it('applies a good push and acknowledges it with the revision', async () => {
    const r = await ask(controller, 'set', push({ base: '0', revision: '1' }, vlan('100', 'acme'), xml('mac', { vni: '5000', mac: '02-00-00-00-00-0A', vtep: '192.0.2.1' })));
    expect(r).not.toBeInstanceOf(XmppError);
    expect((r as Element).is('applied', NS_PUSH)).toBe(true);
    expect((r as Element).attrs.revision).toBe('1');
    expect(await plane.read()).toMatchObject({ vlans: [{ id: 100, name: 'acme' }], macs: [{ vni: 5000, mac: '02:00:00:00:00:0a', vtep: '192.0.2.1' }] });
  });

  const refusals: Array<[string, () => Promise<Element | XmppError>, Record<string, unknown>]> = [
    ['a payload in another namespace', () => ask(controller, 'set', xml('push', { xmlns: 'urn:example:other', base: '1', revision: '2' })), { condition: 'feature-not-implemented', transient: false }],
    ['VLAN 5000', () => ask(controller, 'set', push({ base: '1', revision: '2' }, vlan('5000'))), { condition: 'bad-request', code: 'invalid-input', application: { name: 'bad-value', attrs: { field: 'push/merge/vlan[0]@id' } } }],
    ['a VNI beyond 24 bits', () => ask(controller, 'set', push({ base: '1', revision: '2' }, xml('vni', { vni: '16777216', vlan: '10', encapsulation: 'vxlan' }))), { condition: 'bad-request', application: { name: 'bad-value', attrs: { field: 'push/merge/vni[0]@vni' } } }],
    ['a MAC that is not one', () => ask(controller, 'set', push({ base: '1', revision: '2' }, vlan('10'), xml('mac', { vni: '5000', mac: 'zz:00:00:00:00:01', vtep: '192.0.2.1' }))), { condition: 'bad-request', application: { name: 'bad-value', attrs: { field: 'push/merge/mac[0]@mac' } } }],
    ['a VTEP that is not an address', () => ask(controller, 'set', push({ base: '1', revision: '2' }, xml('flood', { vni: '5000', vtep: '192.0.2.300' }))), { condition: 'bad-request', application: { name: 'bad-value', attrs: { field: 'push/merge/flood[0]@vtep' } } }],
    ['an unknown entry', () => ask(controller, 'set', push({ base: '1', revision: '2' }, xml('acl', { id: '1' }))), { condition: 'bad-request', application: { name: 'bad-value', attrs: { field: 'push/merge/acl[0]' } } }],
    ['a push without a revision', () => ask(controller, 'set', push({ base: '1' }, vlan('10'))), { condition: 'bad-request', application: { name: 'bad-value', attrs: { field: 'push@revision' } } }],
    ['a stale revision', () => ask(controller, 'set', push({ base: '0', revision: '1' }, vlan('10'))), { condition: 'conflict', code: 'conflict', transient: false, application: { name: 'stale-revision', attrs: { have: '1', revision: '1' } } }],
    ['a gapped revision', () => ask(controller, 'set', push({ base: '5', revision: '6' }, vlan('10'))), { condition: 'unexpected-request', application: { name: 'revision-gap', attrs: { have: '1', base: '5' } } }],
    ['a push from a JID that is not the controller', () => ask(intruder, 'set', push({ base: '1', revision: '2' }, vlan('10'))), { condition: 'forbidden', code: 'forbidden', transient: false }],
    ['a state query from a JID that is not the controller', () => ask(intruder, 'get', xml('state', { xmlns: NS_PUSH })), { condition: 'forbidden' }],
    ['a push sent as an IQ get', () => ask(controller, 'get', push({ base: '1', revision: '2' }, vlan('10'))), { condition: 'bad-request' }],
  ];

  for (const [what, send, expected] of refusals) {
    it(`refuses ${what} with a clear IQ error and changes nothing`, async () => {
      const before = plane.history.length;
      const r = await send();
      expect(r).toBeInstanceOf(XmppError);
      expect(r).toMatchObject(expected);
      expect((r as XmppError).text.length).toBeGreaterThan(10);
      expect(plane.history.length).toBe(before);
      expect(agent.revision).toBe(1);
      expect(agent.status).toBe('online');
    });
  }

  it('answers a data-plane failure with a transient error and takes the retry', async () => {
    plane.failNext = 'bridge br100: device busy';
    const r = await ask(controller, 'set', push({ base: '1', revision: '2' }, vlan('200')));
    expect(r).toMatchObject({ condition: 'internal-server-error', transient: true, errorType: 'wait' });
    expect((r as XmppError).text).toContain('bridge br100: device busy');
    expect(agent.revision).toBe(1);
    const ok = await ask(controller, 'set', push({ base: '1', revision: '2' }, vlan('200')));
    expect(ok).not.toBeInstanceOf(XmppError);
    expect(agent.revision).toBe(2);
  });

  it('keeps running after all that and reports its state on request', async () => {
    const r = await ask(controller, 'set', xml('push', { xmlns: NS_PUSH, base: '2', revision: '3' }, xml('remove', {}, vlan('100', 'acme'))));
    expect(r).not.toBeInstanceOf(XmppError);
    const st = (await ask(controller, 'get', xml('state', { xmlns: NS_PUSH }))) as Element;
    expect(st.attrs.revision).toBe('3');
    expect(readEntries(st, 'state')).toEqual(await plane.read());
    expect(plane.history.map((h) => h.revision)).toEqual([1, 2, 3]);
    expect((await plane.read()).vlans).toEqual([{ id: 200, name: 'v' }]);
  });

  it('runs as `nvo gateway-agent` through runGatewayAgent with the recorder data plane', async () => {
    const lines: string[] = [];
    const before = announcements.length;
    const gw2 = await runGatewayAgent({ jid: lab.jid('gw2'), password: lab.passwords.gw2!, service: lab.prosody.service, controller: lab.jid('nvo'), signals: [], log: (l) => lines.push(l) });
    try {
      await waitFor('gw2 to announce', () => announcements.length > before);
      const r = await ask(controller, 'set', push({ base: '0', revision: '1' }, vlan('42', 'answer')), 'gw2');
      expect(r).not.toBeInstanceOf(XmppError);
      expect(gw2.revision).toBe(1);
      expect(lines).toContain(`gateway-agent ${lab.jid('gw2')}: applied revision 1 (delta)`);
      expect(lines).toContain(`gateway-agent ${lab.jid('gw2')}: announced revision 0 to ${lab.jid('nvo')}`);
    } finally {
      await gw2.stop();
    }
  });
});
