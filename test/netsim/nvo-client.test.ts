// nvo's own NETCONF client against netsim: hello and both framings, edit/commit/read-back, the
// edit-config operations, subtree filters, locks, confirmed commits, rpc-errors, the commit delay,
// and the faults injected through the control channel.
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetconfError } from '../../src/drivers/netconf/netconf-error.ts';
import * as op from '../../src/drivers/netconf/operations.ts';
import { RpcError } from '../../src/drivers/netconf/rpc-error.ts';
import { control, startControl, type ControlServer } from '../../src/netsim/control.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { LAB, eventually, sessionOpener, testFleet, vlans } from './support.ts';

let fleet: Fleet;
let only10: Fleet;
let ctl: ControlServer;
let nc: ReturnType<typeof sessionOpener>;
let port = 0; // each test takes a device of its own, so state never leaks between tests
const nextPort = () => fleet.ports[port++]!;

beforeAll(async () => {
  fleet = await testFleet({ devices: 20 });
  only10 = await testFleet({ devices: 1, protocols: ['1.0'] });
  ctl = await startControl(fleet, 0, () => undefined);
  nc = sessionOpener(fleet);
});
afterAll(async () => {
  nc?.closeAll();
  await ctl?.close();
  await fleet?.stop();
  await only10?.stop();
});

const xml = (e: Element) => new XMLSerializer().serializeToString(e);
const ids = async (s: Awaited<ReturnType<typeof nc.open>>, ds: 'running' | 'candidate' = 'running') =>
  [...xml(await op.getConfig(s, ds)).matchAll(/<vlan><id>(\d+)<\/id>/g)].map((m) => Number(m[1]));
async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

describe('hello', () => {
  it('announces the capabilities and picks chunked framing when both sides have base:1.1', async () => {
    const p = nextPort();
    const s = await nc.open(p);
    expect(s.framing).toBe('1.1');
    expect(s.sessionId).toBeGreaterThan(0);
    for (const c of ['base:1.0', 'base:1.1', 'capability:candidate:1.0', 'capability:confirmed-commit:1.1', 'capability:validate:1.1', 'capability:rollback-on-error:1.0'])
      expect(s.has(`urn:ietf:params:netconf:${c}`)).toBe(true);
    expect(s.has('urn:ietf:params:netconf:capability:writable-running:1.0')).toBe(false);
  });

  it('speaks end-of-message framing to a base:1.0 client, and to anyone when it announces only base:1.0', async () => {
    const p = nextPort();
    const s = await nc.open(p, { framing: '1.0' });
    expect(s.framing).toBe('1.0');
    await op.editConfig(s, { target: 'candidate', config: vlans(11) });
    await op.commit(s);
    expect(await ids(s)).toEqual([11]);

    const t = await sessionOpener(only10).open();
    expect(t.framing).toBe('1.0');
    expect(t.has('urn:ietf:params:netconf:base:1.1')).toBe(false);
    t.end();
  });

  it('ends a session whose client has no base version in common', async () => {
    await expect(sessionOpener(only10).open(undefined, { framing: '1.1', helloTimeoutMs: 5_000 })).rejects.toBeInstanceOf(NetconfError);
  });

  it('refuses a wrong password and a wrong pinned host key', async () => {
    const p = nextPort();
    await expect(nc.open(p, { password: 'wrong' })).rejects.toMatchObject({ netconfCode: 'auth-failed' });
    await expect(nc.open(p, { hostKey: fleet.hostKey(fleet.ports[19]!) })).rejects.toMatchObject({ netconfCode: 'host-key-mismatch' });
  });
});

describe('datastores', () => {
  it('keeps edits in the candidate until commit, and discard-changes drops them', async () => {
    const s = await nc.open(nextPort());
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>10</id><name>a &amp; &lt;b&gt;</name></vlan></nvo>` });
    expect(await ids(s, 'candidate')).toEqual([10]);
    expect(await ids(s)).toEqual([]);
    await op.commit(s);
    const running = xml(await op.getConfig(s, 'running'));
    expect(running).toContain('<name>a &amp; &lt;b&gt;</name>');
    await op.editConfig(s, { target: 'candidate', config: vlans(20) });
    await op.discardChanges(s);
    expect(await ids(s, 'candidate')).toEqual([10]);
  });

  it('applies merge, create, replace, delete and remove, with data-exists and data-missing', async () => {
    const s = await nc.open(nextPort());
    await op.editConfig(s, { target: 'candidate', config: vlans(1, 2, 3) });
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>1</id><name>one</name></vlan></nvo>` });
    const exists = await rpcError(op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan nc:operation="create"><id>2</id></vlan></nvo>` }));
    expect(exists.errors[0]).toMatchObject({ type: 'application', tag: 'data-exists', path: "/nc:rpc/nc:edit-config/nc:config/nvo:nvo/nvo:vlan[nvo:id='2']" });
    const missing = await rpcError(op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan nc:operation="delete"><id>9</id></vlan></nvo>` }));
    expect(missing.errors[0]).toMatchObject({ type: 'application', tag: 'data-missing' });
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan nc:operation="remove"><id>9</id></vlan><vlan nc:operation="delete"><id>3</id></vlan><vlan nc:operation="replace"><id>1</id></vlan></nvo>` });
    const c = xml(await op.getConfig(s, 'candidate'));
    expect(c).not.toContain('<name>one</name>'); // replace dropped the name merge had added
    expect(await ids(s, 'candidate')).toEqual([1, 2]);
    await op.editConfig(s, { target: 'candidate', defaultOperation: 'replace', config: vlans(7) });
    expect(await ids(s, 'candidate')).toEqual([7]);
    // none: nothing is created unless an element asks for it
    await op.editConfig(s, { target: 'candidate', defaultOperation: 'none', config: `<nvo xmlns="${LAB}"><vlan><id>8</id></vlan><vlan nc:operation="create"><id>9</id></vlan></nvo>` });
    expect(await ids(s, 'candidate')).toEqual([7, 9]);
  });

  it('honours error-option: rollback-on-error changes nothing, continue-on-error keeps the good parts', async () => {
    const s = await nc.open(nextPort());
    await op.editConfig(s, { target: 'candidate', config: vlans(1) });
    const bad = `<nvo xmlns="${LAB}"><vlan><id>2</id></vlan><vlan nc:operation="create"><id>1</id></vlan><vlan><id>3</id></vlan></nvo>`;
    await rpcError(op.editConfig(s, { target: 'candidate', testOption: 'set', errorOption: 'rollback-on-error', config: bad }));
    expect(await ids(s, 'candidate')).toEqual([1]);
    const e = await rpcError(op.editConfig(s, { target: 'candidate', testOption: 'set', errorOption: 'continue-on-error', config: bad }));
    expect(e.errors.map((x) => x.tag)).toEqual(['data-exists']);
    expect(await ids(s, 'candidate')).toEqual([1, 2, 3]);
    await rpcError(op.editConfig(s, { target: 'candidate', testOption: 'set', errorOption: 'stop-on-error', config: `<nvo xmlns="${LAB}"><vlan><id>4</id></vlan><vlan nc:operation="create"><id>1</id></vlan><vlan><id>5</id></vlan></nvo>` }));
    expect(await ids(s, 'candidate')).toEqual([1, 2, 3, 4]);
    await op.editConfig(s, { target: 'candidate', testOption: 'test-only', config: vlans(6) });
    expect(await ids(s, 'candidate')).toEqual([1, 2, 3, 4]);
  });

  it('answers get and get-config with subtree filters', async () => {
    const s = await nc.open(nextPort());
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><device-id>leaf1</device-id><vlan><id>10</id><name>ten</name></vlan><vlan><id>20</id><name>twenty</name></vlan></nvo>` });
    await op.commit(s);
    expect(xml(await op.getConfig(s, 'running', `<nvo xmlns="${LAB}"><vlan><id>20</id></vlan></nvo>`))).toMatch(/<nvo xmlns="urn:nvo3:lab"><vlan><id>20<\/id><name>twenty<\/name><\/vlan><\/nvo>/);
    const names = xml(await op.get(s, `<nvo xmlns="${LAB}"><vlan><name/></vlan></nvo>`));
    expect(names).toContain('<name>ten</name>');
    expect(names).not.toContain('<id>');
    expect(xml(await op.getConfig(s, 'running', `<nvo xmlns="${LAB}"><device-id/></nvo>`))).toMatch(/<device-id>leaf1<\/device-id><\/nvo><\/data>$/);
    expect(xml(await op.getConfig(s, 'running', '<other xmlns="urn:example"/>'))).not.toContain('nvo');
  });

  it('selects list entries by their keys: the read-back of a change names hundreds of entries at once', async () => {
    const s = await nc.open(nextPort());
    const mac = (i: number) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const entry = (i: number) => `<mac><vni>5010</vni><address>${mac(i)}</address><vtep>192.0.2.${(i % 200) + 1}</vtep></mac>`;
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>10</id></vlan><vni><id>5010</id><vlan>10</vlan><encapsulation>vxlan</encapsulation></vni>${Array.from({ length: 600 }, (_, i) => entry(i)).join('')}</nvo>` });
    await op.commit(s);
    const wanted = [7, 300, 599];
    // 7/300/599 by both keys, 1000 is absent, 8 is named with the wrong VNI: neither may appear
    const keys = [...wanted, 1000].map((i) => `<mac><vni>5010</vni><address>${mac(i)}</address></mac>`).join('') + `<mac><vni>5011</vni><address>${mac(8)}</address></mac><vlan><id>10</id></vlan>`;
    const got = xml(await op.getConfig(s, 'running', `<nvo xmlns="${LAB}">${keys}</nvo>`));
    expect(got.match(/<mac>.*?<\/mac>/g)).toEqual(wanted.map(entry));
    expect(got).toContain('<vlan><id>10</id></vlan>');
    expect(got).not.toContain('<vni><id>');
  });
});

describe('rpc-errors as RFC 6241 Appendix A has them', () => {
  it('VLAN 5000 is invalid-value with type, tag, severity, app-tag, path, message and info, and changes nothing', async () => {
    const s = await nc.open(nextPort());
    const e = await rpcError(op.editConfig(s, { target: 'candidate', config: vlans(100, 5000) }));
    expect(e.errors).toEqual([
      {
        type: 'application',
        tag: 'invalid-value',
        severity: 'error',
        appTag: 'not-in-range',
        path: "/nc:rpc/nc:edit-config/nc:config/nvo:nvo/nvo:vlan[nvo:id='5000']/nvo:id",
        message: 'value 5000 not in range 1..4094',
        info: { 'bad-element': 'id', 'bad-value': '5000' },
      },
    ]);
    expect(await ids(s, 'candidate')).toEqual([]);
  });

  it('checks MACs, VNI ranges and references; validate and commit report what is wrong in the datastore', async () => {
    const s = await nc.open(nextPort());
    const mac = await rpcError(op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>10</id></vlan><vni><id>5010</id><vlan>10</vlan><encapsulation>vxlan</encapsulation></vni><mac><vni>5010</vni><address>02:00:00:00:00:ZZ</address><vtep>192.0.2.1</vtep></mac></nvo>` }));
    expect(mac.errors[0]).toMatchObject({ tag: 'invalid-value', appTag: 'pattern-violation', info: { 'bad-value': '02:00:00:00:00:ZZ' } });
    const vni = await rpcError(op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vni><id>16777216</id></vni></nvo>` }));
    expect(vni.errors[0]).toMatchObject({ tag: 'invalid-value', appTag: 'not-in-range' });
    const ref = await rpcError(op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vni><id>5010</id><vlan>30</vlan><encapsulation>vxlan</encapsulation></vni></nvo>` }));
    expect(ref.errors[0]).toMatchObject({ tag: 'data-missing', appTag: 'instance-required', path: "/nvo:nvo/nvo:vni[nvo:id='5010']/nvo:vlan" });
    // with test-option set the edit lands, and validate/commit catch the dangling reference
    await op.editConfig(s, { target: 'candidate', testOption: 'set', config: `<nvo xmlns="${LAB}"><vni><id>5010</id><vlan>30</vlan></vni></nvo>` });
    const v = await rpcError(op.validate(s));
    expect(v.errors.map((x) => x.tag).sort()).toEqual(['data-missing', 'missing-element']);
    expect((await rpcError(op.commit(s))).errors.map((x) => x.tag).sort()).toEqual(['data-missing', 'missing-element']);
    expect(await ids(s)).toEqual([]);
  });

  it('an unknown RPC is operation-not-supported; writing running is refused; kill-session of oneself is invalid-value', async () => {
    const s = await nc.open(nextPort());
    expect((await rpcError(s.rpc('<reboot-everything xmlns="urn:example"/>'))).errors[0]).toMatchObject({ type: 'protocol', tag: 'operation-not-supported' });
    expect((await rpcError(s.rpc(`<edit-config><target><running/></target><config>${vlans(1)}</config></edit-config>`))).errors[0]).toMatchObject({ tag: 'operation-not-supported' });
    expect((await rpcError(op.killSession(s, s.sessionId))).errors[0]).toMatchObject({ tag: 'invalid-value' });
  });
});

describe('locks', () => {
  it('lock-denied names the holder; in-use for writes; the lock goes with a dropped session', async () => {
    const p = nextPort();
    const a = await nc.open(p);
    const b = await nc.open(p);
    await op.lock(a, 'candidate');
    const denied = await op.lock(b, 'candidate', { retries: 0 }).then(() => null, (e: unknown) => e as NetconfError);
    expect(denied).toMatchObject({ netconfCode: 'lock-denied', details: { holderSessionId: a.sessionId } });
    expect(denied!.message).toContain(`session ${a.sessionId}`);
    expect((await rpcError(op.editConfig(b, { target: 'candidate', config: vlans(5) }))).errors[0]).toMatchObject({ tag: 'in-use' });
    // changes under a candidate lock are discarded with the lock (RFC 6241 §8.3.5.2)
    await op.editConfig(a, { target: 'candidate', config: vlans(6) });
    a.end();
    await eventually('the lock of the dropped session is released', async () => {
      try {
        await op.lock(b, 'candidate', { retries: 0 });
        return true;
      } catch {
        return false;
      }
    });
    expect(await ids(b, 'candidate')).toEqual([]);
    await op.unlock(b, 'candidate');
  });

  it('kill-session ends another session and frees its locks', async () => {
    const p = nextPort();
    const a = await nc.open(p);
    const b = await nc.open(p);
    await op.lock(a, 'running');
    await op.killSession(b, a.sessionId);
    await op.lock(b, 'running', { retries: 0 });
    await eventually('the killed session is closed', () => !a.isOpen);
  });
});

describe('confirmed commit (RFC 6241 §8.4)', () => {
  it('rolls back when the confirm-timeout expires', async () => {
    const s = await nc.open(nextPort());
    await op.editConfig(s, { target: 'candidate', config: vlans(1) });
    await op.commit(s);
    await op.editConfig(s, { target: 'candidate', config: vlans(2) });
    await op.commit(s, { confirmed: true, confirmTimeoutS: 1 });
    expect(await ids(s)).toEqual([1, 2]);
    await eventually('the unconfirmed commit is rolled back', async () => (await ids(s)).join() === '1');
  });

  it('rolls back at once when the session that made it closes, and a confirming commit keeps it', async () => {
    const p = nextPort();
    const a = await nc.open(p);
    await op.editConfig(a, { target: 'candidate', config: vlans(3) });
    await op.commit(a, { confirmed: true, confirmTimeoutS: 600 });
    const b = await nc.open(p);
    expect(await ids(b)).toEqual([3]);
    // only the session that made it may confirm it
    expect((await rpcError(op.commit(b))).errors[0]).toMatchObject({ tag: 'in-use' });
    await op.closeSession(a);
    await eventually('rolled back on close', async () => (await ids(b)).length === 0);

    await op.editConfig(b, { target: 'candidate', config: vlans(4) });
    await op.commit(b, { confirmed: true, confirmTimeoutS: 1 });
    await op.commit(b);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await ids(b)).toEqual([4]);
  });

  it('a persist commit outlives its session; persist-id confirms or cancels it from another one', async () => {
    const p = nextPort();
    const a = await nc.open(p);
    await op.editConfig(a, { target: 'candidate', config: vlans(5) });
    await op.commit(a, { confirmed: true, confirmTimeoutS: 600, persist: 'tok-1' });
    a.end();
    const b = await nc.open(p);
    await new Promise((r) => setTimeout(r, 300));
    expect(await ids(b)).toEqual([5]);
    expect((await rpcError(op.commit(b, { persistId: 'wrong' }))).errors[0]).toMatchObject({ tag: 'invalid-value' });
    await op.cancelCommit(b, 'tok-1');
    expect(await ids(b)).toEqual([]);
    expect((await rpcError(op.cancelCommit(b))).errors[0]).toMatchObject({ tag: 'operation-failed' });
  });
});

describe('commit delay and failure injection', () => {
  it('a commit takes at least the configured delay', async () => {
    const p = nextPort();
    await control(ctl.url, 'POST', '/settings', { device: p, commitDelayMs: 400 });
    const s = await nc.open(p);
    await op.editConfig(s, { target: 'candidate', config: vlans(1) });
    const t0 = performance.now();
    await op.commit(s);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
  });

  it('refuse-commit answers the next commit with the given rpc-error and applies nothing, once', async () => {
    const p = nextPort();
    await control(ctl.url, 'POST', '/faults', { device: p, kind: 'refuse-commit', error: { tag: 'resource-denied', message: 'TCAM full', appTag: 'tcam', info: { 'bad-element': 'vlan' } } });
    const s = await nc.open(p);
    await op.editConfig(s, { target: 'candidate', config: vlans(9) });
    const e = await rpcError(op.commit(s));
    expect(e.errors[0]).toEqual({ type: 'application', tag: 'resource-denied', severity: 'error', appTag: 'tcam', message: 'TCAM full', info: { 'bad-element': 'vlan' }, path: undefined });
    expect(await ids(s)).toEqual([]);
    await op.commit(s);
    expect(await ids(s)).toEqual([9]);
  });

  it('drop-session ends the session on its next RPC without an answer', async () => {
    const p = nextPort();
    const s = await nc.open(p);
    await control(ctl.url, 'POST', '/faults', { device: p, kind: 'drop-session' });
    const err = await op.getConfig(s, 'running').then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ netconfCode: 'session-lost' });
    const again = await nc.open(p); // the fault fired once
    expect(await ids(again)).toEqual([]);
  });

  it('rejects a malformed fault naming the field', async () => {
    await expect(control(ctl.url, 'POST', '/faults', { device: fleet.ports[0], kind: 'explode' })).rejects.toMatchObject({ code: 'invalid-input', issues: [{ field: 'kind' }] });
    await expect(control(ctl.url, 'POST', '/faults', { device: 1, kind: 'drop-session' })).rejects.toMatchObject({ code: 'not-found' });
    const st = await control<{ devices: { faults: { refuseCommit: number; dropSession: number } }[] }>(ctl.url, 'GET', '/status');
    expect(st.devices.every((d) => d.faults.dropSession === 0)).toBe(true);
  });
});
