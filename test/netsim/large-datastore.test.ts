// A device of a few thousand entries (so the sibling index, the change log and the checks of only
// what an edit changed are all in play) driven through a long random run of edits, failed edits,
// commits, confirmed commits, cancels and discards — and after every step compared with answers
// computed the slow way: the content with a plain model of the three lists, the rpc-errors and the
// acceptance of every edit with the whole-store check (validateStore) run on a fresh copy of the
// tree, the rollback and discard byte for byte with what was read before.
import { DOMParser, type Element } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { ChangeLog } from '../../src/netsim/change-log.ts';
import { DeviceError, type RpcErrorSpec } from '../../src/netsim/device-error.ts';
import { Device } from '../../src/netsim/device.ts';
import { applyEdit } from '../../src/netsim/edit-config.ts';
import { runOperation } from '../../src/netsim/operations.ts';
import { newDatastore } from '../../src/netsim/tree.ts';
import { validateStore } from '../../src/netsim/validate.ts';
import { rejection } from '../support/rejection.ts';
import { LAB } from './support.ts';

const NC = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml').documentElement!;
const op = (body: string) => parse(`<rpc xmlns="${NC}" message-id="1">${body}</rpc>`).firstChild as Element;

// Deterministic, so a failure can be replayed (mulberry32).
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p };
}

interface Model {
  vlan: Set<number>;
  vni: Map<number, number>; // id → vlan
  mac: Map<string, string>; // "vni address" → vtep
}
const copy = (m: Model): Model => ({ vlan: new Set(m.vlan), vni: new Map(m.vni), mac: new Map(m.mac) });
const addr = (i: number) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const vlanXml = (id: number) => `<vlan><id>${id}</id></vlan>`;
const vniXml = (id: number, vlan: number, attr = '') => `<vni${attr}><id>${id}</id><vlan>${vlan}</vlan><encapsulation>vxlan</encapsulation></vni>`;
const macXml = (vni: number, a: string, vtep: string, attr = '') => `<mac${attr}><vni>${vni}</vni><address>${a}</address><vtep>${vtep}</vtep></mac>`;
const opAttr = (o: string) => ` xmlns:nc="${NC}" nc:operation="${o}"`;

// A datastore's nvo3-lab content as the model's three lists, in whatever order the device keeps them.
function contentOf(xml: string): Model {
  const m: Model = { vlan: new Set(), vni: new Map(), mac: new Map() };
  for (const x of xml.matchAll(/<vlan><id>(\d+)<\/id><\/vlan>/g)) m.vlan.add(Number(x[1]));
  for (const x of xml.matchAll(/<vni><id>(\d+)<\/id><vlan>(\d+)<\/vlan><encapsulation>vxlan<\/encapsulation><\/vni>/g)) m.vni.set(Number(x[1]), Number(x[2]));
  for (const x of xml.matchAll(/<mac><vni>(\d+)<\/vni><address>([^<]+)<\/address><vtep>([^<]+)<\/vtep><\/mac>/g)) m.mac.set(`${x[1]} ${x[2]}`, x[3]!);
  return m;
}
const sorted = (m: Model) => ({ vlan: [...m.vlan].sort(), vni: [...m.vni].sort(), mac: [...m.mac].sort() });

// The slow way: the datastore read back, parsed into a tree of its own, the edit applied to it and
// the whole store checked.
function expectedErrors(before: string, config: string): RpcErrorSpec[] {
  const store = newDatastore();
  for (const n of Array.from(parse(before).childNodes)) if (n.nodeType === 1) store.appendChild(store.ownerDocument!.importNode(n, true));
  const errors = applyEdit(store, parse(`<config xmlns="${NC}">${config}</config>`), { defaultOperation: 'merge', errorOption: 'stop-on-error', checks: true }, new ChangeLog());
  return errors.length ? errors : validateStore(store);
}

describe('netsim on a large datastore', () => {
  it('a long random run of edits, rollbacks and discards keeps both datastores equal to a reference computed the slow way', { timeout: 240_000 }, async () => {
    const d = new Device(0, { commitDelayMs: 0, checks: true });
    const rpc = (body: string) => runOperation(op(body), { device: d, sessionId: 1, closeAfterReply: () => undefined });
    const get = (ds: 'running' | 'candidate') => rpc(`<get-config><source><${ds}/></source></get-config>`);
    const rnd = random(20261127);
    const N = 600;
    let running: Model = { vlan: new Set(), vni: new Map(), mac: new Map() };
    let seed = '';
    for (let i = 0; i < N; i++) {
      const v = (i % 400) + 1;
      if (i < 400) {
        running.vlan.add(v);
        running.vni.set(10000 + v, v);
        seed += vlanXml(v) + vniXml(10000 + v, v);
      }
      running.mac.set(`${10000 + v} ${addr(i)}`, `192.0.2.${(i % 250) + 1}`);
      seed += macXml(10000 + v, addr(i), `192.0.2.${(i % 250) + 1}`);
    }
    await rpc(`<edit-config><target><candidate/></target><config><nvo xmlns="${LAB}">${seed}</nvo></config></edit-config>`);
    await rpc('<commit/>');
    let candidate = copy(running);
    let beforeConfirmed: { xml: string; model: Model } | null = null;
    let nextMac = N;
    let nextVlan = 401;
    const counts = { accepted: 0, refused: 0, commits: 0, cancels: 0, discards: 0 };

    const pickMac = (m: Model) => [...m.mac.keys()][rnd.int(m.mac.size)]!;
    const pickVni = (m: Model) => [...m.vni.keys()][rnd.int(m.vni.size)]!;

    for (let step = 0; step < 120; step++) {
      const kind = rnd.int(12);
      if (kind <= 7) {
        // an edit: its body and what it does to the model, were it accepted
        const next = copy(candidate);
        let body = '';
        let options = '';
        const k = 1 + rnd.int(20);
        const bad = rnd.int(8); // 0: a VNI taken away, 1: a fault, else a good edit
        for (let j = 0; j < k; j++) {
          const what = j === k - 1 && bad === 0 ? 8 : j === k - 1 && bad === 1 ? 9 : rnd.int(8);
          if (what <= 3) {
            // now and then on a VNI made during the run, which a later edit may try to take away
            const fresh = [...next.vni.keys()].filter((id) => id >= 20000);
            const vni = fresh.length && rnd.chance(0.3) ? fresh[rnd.int(fresh.length)]! : pickVni(next);
            const a = addr(nextMac++);
            body += macXml(vni, a, '198.51.100.7');
            next.mac.set(`${vni} ${a}`, '198.51.100.7');
          } else if (what === 4 && next.mac.size) {
            const key = pickMac(next);
            const [vni, a] = key.split(' ');
            body += macXml(Number(vni), a!, '203.0.113.9'); // merge changes the vtep leaf
            next.mac.set(key, '203.0.113.9');
          } else if (what === 5 && next.mac.size) {
            const key = pickMac(next);
            const [vni, a] = key.split(' ');
            body += `<mac${opAttr('delete')}><vni>${vni}</vni><address>${a}</address></mac>`;
            next.mac.delete(key);
          } else if (what === 6 && next.mac.size) {
            const key = pickMac(next);
            const [vni, a] = key.split(' ');
            body += macXml(Number(vni), a!, '192.0.2.200', opAttr('replace'));
            next.mac.set(key, '192.0.2.200');
          } else if (what === 7) {
            const v = nextVlan++;
            body += vlanXml(v) + vniXml(20000 + v, v);
            next.vlan.add(v);
            next.vni.set(20000 + v, v);
          } else if (what === 8) {
            // a VNI taken away: refused while a MAC still names it (instance-required)
            const fresh = [...next.vni.keys()].filter((id) => id >= 20000);
            const vni = fresh.length && rnd.chance(0.5) ? fresh[rnd.int(fresh.length)]! : pickVni(next);
            body += `<vni${opAttr('remove')}><id>${vni}</id></vni>`;
            next.vni.delete(vni);
          } else {
            // faults: a MAC on a VNI that does not exist, a bad value, a create of what exists
            const f = rnd.int(3);
            if (f === 0) body += macXml(999_999, addr(nextMac++), '192.0.2.1');
            else if (f === 1) body += vlanXml(5000);
            else if (next.mac.size) {
              const [vni, a] = pickMac(next).split(' ');
              body += macXml(Number(vni), a!, '192.0.2.1', opAttr('create'));
            }
            next.mac.set('fault', 'fault'); // never in a datastore: such an edit must be refused
          }
        }
        const testOnly = rnd.chance(0.1);
        if (testOnly) options = '<test-option>test-only</test-option>';
        else if (rnd.chance(0.3)) options = '<error-option>rollback-on-error</error-option>';
        const config = `<nvo xmlns="${LAB}">${body}</nvo>`;
        const before = await get('candidate');
        const expected = expectedErrors(before, config);
        let got: RpcErrorSpec[] = [];
        try {
          await rpc(`<edit-config><target><candidate/></target>${options}<config>${config}</config></edit-config>`);
        } catch (err) {
          if (!(err instanceof DeviceError)) throw err;
          got = err.errors;
        }
        expect(got, `step ${step}: the rpc-errors are the whole-store check's`).toEqual(expected);
        const refs = [...next.mac.values()].includes('fault') ? 1 : 0;
        const dangling = [...next.mac.keys()].some((key) => key !== 'fault' && !next.vni.has(Number(key.split(' ')[0])));
        expect(got.length > 0, `step ${step}: refused exactly when the edit is bad`).toBe(refs > 0 || dangling);
        if (got.length) {
          counts.refused++;
          expect(await get('candidate'), `step ${step}: a refused edit leaves the candidate as it was`).toBe(before);
        } else {
          counts.accepted++;
          if (!testOnly) candidate = next;
        }
      } else if (kind === 8) {
        await rpc('<commit/>');
        running = copy(candidate);
        beforeConfirmed = null;
        counts.commits++;
      } else if (kind === 9) {
        if (!beforeConfirmed) beforeConfirmed = { xml: await get('running'), model: copy(running) };
        await rpc('<commit><confirmed/></commit>');
        running = copy(candidate);
        counts.commits++;
      } else if (kind === 10 && beforeConfirmed) {
        await rpc('<cancel-commit/>');
        expect(await get('running'), `step ${step}: cancel-commit restores running byte for byte`).toBe(beforeConfirmed.xml);
        running = beforeConfirmed.model;
        candidate = copy(running);
        beforeConfirmed = null;
        counts.cancels++;
      } else {
        await rpc('<discard-changes/>');
        candidate = copy(running);
        expect(await get('candidate'), `step ${step}: discard-changes makes the candidate running again`).toBe(await get('running'));
        counts.discards++;
      }
      // the whole of both datastores every few steps (each edit is checked against the whole store above)
      if (step % 4 !== 3 && kind <= 7) continue;
      const [r, c] = [await get('running'), await get('candidate')];
      expect(sorted(contentOf(r)), `step ${step}: running`).toEqual(sorted(running));
      expect(sorted(contentOf(c)), `step ${step}: candidate`).toEqual(sorted(candidate));
      expect(expectedErrors(c, ''), `step ${step}: the candidate passes the whole-store check`).toEqual([]);
      // nvo's read-back: entries by their keys, from the index, equal to the same entries in the whole read
      const keys = [pickMac(candidate), pickMac(candidate), 'nope 02:00:00:00:00:00'].map((key) => key.split(' '));
      const back = await rpc(`<get-config><source><candidate/></source><filter type="subtree"><nvo xmlns="${LAB}">${keys.map(([v, a]) => `<mac><vni>${v}</vni><address>${a}</address></mac>`).join('')}</nvo></filter></get-config>`);
      const want = [...c.matchAll(/<mac><vni>(\d+)<\/vni><address>([^<]+)<\/address><vtep>[^<]+<\/vtep><\/mac>/g)].filter((x) => keys.some(([v, a]) => v === x[1] && a === x[2])).map((x) => x[0]);
      expect(back, `step ${step}: read-back by keys`).toBe(`<data xmlns="${NC}"><nvo xmlns="${LAB}">${want.join('')}</nvo></data>`);
    }
    // the run exercised every path it is meant to
    expect(counts.accepted).toBeGreaterThan(20);
    expect(counts.refused).toBeGreaterThan(10);
    expect(counts.commits).toBeGreaterThan(5);
    expect(counts.cancels).toBeGreaterThan(0);
    expect(counts.discards).toBeGreaterThan(3);
    d.stop();
  });

  it('a VNI is refused removal once a MAC added after the first removal names it (the index of references follows every edit)', async () => {
    const d = new Device(0, { commitDelayMs: 0, checks: true });
    const rpc = (body: string) => runOperation(op(body), { device: d, sessionId: 1, closeAfterReply: () => undefined });
    const edit = (xml: string) => rpc(`<edit-config><target><candidate/></target><config><nvo xmlns="${LAB}">${xml}</nvo></config></edit-config>`);
    let seed = '';
    for (let v = 1; v <= 60; v++) seed += vlanXml(v) + vniXml(v, v) + macXml(v, addr(v), '192.0.2.1');
    await edit(seed + vlanXml(100) + vniXml(100, 100) + vlanXml(101) + vniXml(101, 101));
    await rpc('<commit/>');
    // the first removal of a target looks its references up (and indexes them)
    await edit(`<vni${opAttr('remove')}><id>100</id></vni>`);
    await rpc('<commit/>');
    await edit(macXml(101, addr(101), '192.0.2.2'));
    await rpc('<commit/>');
    const refused = await rejection(edit(`<vni${opAttr('delete')}><id>101</id></vni>`), DeviceError);
    expect(refused.errors).toEqual(expectedErrors(await rpc('<get-config><source><candidate/></source></get-config>'), `<nvo xmlns="${LAB}"><vni${opAttr('delete')}><id>101</id></vni></nvo>`));
    expect(refused.errors.map((e) => e.appTag)).toEqual(['instance-required']);
    d.stop();
  });
});
