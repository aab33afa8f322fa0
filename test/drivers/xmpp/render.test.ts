// The push templates (templates/xmpp): golden output, escaping of hostile values, and the typed
// error's classification. No server needed.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { xml } from '@xmpp/client';
import { DOMParser, type Element as DomElement } from '@xmldom/xmldom';
import type { DeviceConfig } from '../../../src/model/device-config.ts';
import { PushRenderer, TEMPLATE_DIR } from '../../../src/drivers/xmpp/render.ts';
import { NS_PUSH, NS_STANZAS, errorElement, readEntries } from '../../../src/drivers/xmpp/protocol.ts';
import { XmppError } from '../../../src/drivers/xmpp/xmpp-error.ts';
import { cfg } from './lab.ts';

const golden = (name: string) => readFileSync(fileURLToPath(new URL(`golden/${name}`, import.meta.url)), 'utf8').trim();

const change = {
  merge: cfg({
    vrfs: [{ name: 'acme', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:2'] }],
    vlans: [{ id: 100, name: 'acme' }],
    vnis: [{ vni: 5000, vlan: 100, encapsulation: 'vxlan', vrf: 'acme', mcastGroup: '239.1.1.1' }],
    irbs: [{ vlan: 100, vrf: 'acme', address: '192.0.2.1/24' }],
    floods: [{ vni: 5000, vtep: '198.51.100.2' }],
    macs: [{ vni: 5000, mac: '02:00:00:00:00:01', vtep: '198.51.100.2' }],
  }),
  remove: cfg({ macs: [{ vni: 5000, mac: '02:00:00:00:00:09', vtep: '198.51.100.3' }] }),
};

describe('XMPP push templates', () => {
  const r = new PushRenderer();

  it('render a push, a sync and a state query as the golden files say', () => {
    expect(r.push('gw1', 6, 7, change).toString()).toBe(golden('push.xml'));
    expect(r.sync('gw1', 7, change.merge).toString()).toBe(golden('sync.xml'));
    expect(r.stateQuery('gw1').toString()).toBe(golden('state.xml'));
  });

  it('escape every value: a hostile VLAN name arrives as text and cannot add an entry', () => {
    const name = '"/><vlan id="1" name="x"/><!-- & \'{{x}}\' `=`';
    const el = r.push('gw"1', 0, 1, { merge: cfg({ vlans: [{ id: 7, name }] }), remove: cfg({}) });
    expect(el.attrs.device).toBe('gw"1');
    expect(readEntries(el.getChild('merge')!, 'push/merge').vlans).toEqual([{ id: 7, name }]);
  });

  it('escape <, &, ", \', ]]>]]> and ]]> in every string field: the IQ is well-formed and carries each value back', () => {
    const evil = (tag: string) => `${tag}<b>&amp;"x"]]>]]>y]]>'z</push>`;
    const side = (s: string): DeviceConfig => ({
      vrfs: [{ name: evil(`${s}-vrf`), rd: evil(`${s}-rd`), importTargets: [evil(`${s}-import`)], exportTargets: [evil(`${s}-export`)] }],
      vlans: [{ id: 10, name: evil(`${s}-vlan-name`) }],
      vnis: [{ vni: 5010, vlan: 10, encapsulation: evil(`${s}-encapsulation`), vrf: evil(`${s}-vni-vrf`), mcastGroup: evil(`${s}-mcast`) }],
      irbs: [{ vlan: 10, vrf: evil(`${s}-irb-vrf`), address: evil(`${s}-irb-address`) }],
      floods: [{ vni: 5010, vtep: evil(`${s}-flood-vtep`) }],
      macs: [{ vni: 5010, mac: evil(`${s}-mac`), vtep: evil(`${s}-mac-vtep`) }],
    });
    // Where each string must come back: [element, attribute or null for text].
    const fields: Array<[string, string, string | null]> = [
      ['vrf', 'vrf', 'name'], ['rd', 'vrf', 'rd'], ['import', 'import-target', null], ['export', 'export-target', null],
      ['vlan-name', 'vlan', 'name'], ['encapsulation', 'vni', 'encapsulation'], ['vni-vrf', 'vni', 'vrf'], ['mcast', 'vni', 'mcast-group'],
      ['irb-vrf', 'irb', 'vrf'], ['irb-address', 'irb', 'address'], ['flood-vtep', 'flood', 'vtep'], ['mac', 'mac', 'mac'], ['mac-vtep', 'mac', 'vtep'],
    ];
    const wellFormed = (text: string) => {
      const errors: string[] = [];
      const doc = new DOMParser({ onError: (level, msg) => errors.push(`${level}: ${msg}`) }).parseFromString(text, 'text/xml');
      expect(errors).toEqual([]);
      return doc.documentElement!;
    };
    const first = (parent: DomElement, name: string) => parent.getElementsByTagName(name)[0]!;
    const check = (root: DomElement, s: string) => {
      for (const [tag, el, attr] of fields) {
        const node = first(root, el);
        expect(node, `${s} <${el}>`).toBeDefined();
        expect(attr ? node.getAttribute(attr) : node.textContent, `${s} ${el}${attr ? `@${attr}` : ' text'}`).toBe(evil(`${s}-${tag}`));
      }
    };
    const renders = [
      ['push', r.push(evil('device'), 0, 1, { merge: side('merge'), remove: side('remove') })],
      ['sync', r.sync(evil('device'), 1, side('merge'))],
    ] as const;
    for (const [what, payload] of renders) {
      // What goes on the wire: the payload inside the IQ, serialized by @xmpp's own writer.
      const wire = xml('iq', { type: 'set', to: 'gw1@nvo3.test/gateway', id: 'x1' }, payload).toString();
      expect(wire, what).not.toContain(']]>');
      expect(wire, what).not.toContain('<b>');
      expect(wire.match(/<\/push>/g)?.length ?? 0, what).toBe(what === 'push' ? 1 : 0);
      const iq = wellFormed(wire);
      const top = iq.firstChild as DomElement;
      expect(top.localName).toBe(what);
      expect(top.getAttribute('device')).toBe(evil('device'));
      if (what === 'push') {
        check(first(top, 'merge'), 'merge');
        check(first(top, 'remove'), 'remove');
      } else {
        check(top, 'merge');
      }
      // No entry was added by a value: one of each element per side.
      for (const [, el] of fields) expect(top.getElementsByTagName(el).length, el).toBe(what === 'push' ? 2 : 1);
    }
  });

  it('use no unescaped output anywhere', () => {
    for (const f of readdirSync(TEMPLATE_DIR)) {
      const text = readFileSync(join(TEMPLATE_DIR, f), 'utf8');
      expect(text, f).not.toContain('{{{');
      expect(text, f).not.toContain('{{&');
    }
  });
});

describe('XmppError', () => {
  it('keeps the condition, the text and the application element, and classifies transient ones', () => {
    const e = XmppError.fromElement('gw1', errorElement('cancel', 'conflict', 'revision 3 is stale', { name: 'stale-revision', attrs: { have: '4' } }));
    expect(e).toMatchObject({ condition: 'conflict', text: 'revision 3 is stale', transient: false, code: 'conflict', application: { name: 'stale-revision', attrs: { have: '4' } } });
    expect(e.message).toBe('gw1: conflict: revision 3 is stale');
    expect(XmppError.fromElement('gw1', xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: NS_STANZAS })))).toMatchObject({ transient: true, code: 'unavailable' });
    expect(XmppError.fromElement('gw1', xml('error', { type: 'wait' }, xml('policy-violation', { xmlns: NS_STANZAS })))).toMatchObject({ transient: true });
    expect(XmppError.fromElement('gw1', xml('error', { type: 'modify' }, xml('bad-request', { xmlns: NS_STANZAS })))).toMatchObject({ transient: false, code: 'invalid-input' });
    const foreign = XmppError.fromElement('gw1', xml('error', { type: 'cancel' }, xml('undefined-condition', { xmlns: NS_STANZAS }), xml('oops', { xmlns: 'urn:example:x' })));
    expect(foreign.application?.name).toBe('{urn:example:x}oops');
    expect(XmppError.timeout('gw1', 100)).toMatchObject({ transient: true, condition: 'timeout' });
    expect(NS_PUSH).toBe('urn:nvo:push:1');
  });
});
