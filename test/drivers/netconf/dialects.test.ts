// Dialect rendering: golden files per dialect and change kind, vendor YANG validation with
// yanglint (openconfig, srlinux), escaping of hostile strings, and one registry for everything.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOMParser, type Document, type Node } from '@xmldom/xmldom';
import { afterAll, describe, expect, it } from 'vitest';
import { diffConfig, emptyConfig, type DeviceConfig } from '../../../src/model/device-config.ts';
import { TEMPLATE_ROOT, dialectNames, getDialect } from '../../../src/drivers/netconf/dialects/registry.ts';
import { NvoError } from '../../../src/errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
const GOLDEN = join(here, 'golden');
const VALIDATE = '/work/shared/tools/yang-validate';
const canValidate = existsSync(VALIDATE);
if (!canValidate) console.log(`skipping vendor YANG validation: ${VALIDATE} is absent (it exists only on the project's machines and CI)`);

const device = { id: 'tor1', vtep: '192.0.2.1' };
const red = { name: 'red', rd: '65000:10', importTargets: ['65000:10'], exportTargets: ['65000:10'] };
const base: DeviceConfig = { ...emptyConfig(), vlans: [{ id: 10, name: 'tenant-a' }], vrfs: [red] };
const withVni: DeviceConfig = {
  ...base,
  vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan', vrf: 'red', mcastGroup: '239.1.1.10' }],
  floods: [{ vni: 5010, vtep: '192.0.2.2' }],
  irbs: [{ vlan: 10, vrf: 'red', address: '198.51.100.1/24' }],
};
const withMac: DeviceConfig = { ...withVni, macs: [{ vni: 5010, mac: '02:00:00:00:00:01', vtep: '192.0.2.2' }] };

const cases: Record<string, [DeviceConfig, DeviceConfig]> = {
  'add-vni': [base, withVni],
  'delete-vni': [withMac, base],
  'mac-add': [withVni, withMac],
  'mac-remove': [withMac, withVni],
  vrf: [emptyConfig(), { ...emptyConfig(), vrfs: [red, { name: 'blue', rd: '192.0.2.1:20', importTargets: ['65000:20', '65000:21'], exportTargets: ['65000:20'] }] }],
  'change-vni': [withMac, { ...withMac, vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan' }] }],
};

const tmp = mkdtempSync(join(tmpdir(), 'nvo-dialects-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function wellFormed(xml: string): Document {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, msg) => void (level !== 'warning' && errors.push(msg)) }).parseFromString(`<config>${xml}</config>`, 'text/xml');
  expect(errors).toEqual([]);
  return doc;
}

describe('dialect registry', () => {
  it('is the only list: every registered dialect has a template folder and every folder is registered', () => {
    expect(readdirSync(TEMPLATE_ROOT).sort()).toEqual([...dialectNames()].sort());
    for (const name of dialectNames()) expect(getDialect(name).name).toBe(name);
  });

  it('names the known dialects when asked for an unknown one', () => {
    try {
      getDialect('cisco-ios');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NvoError);
      expect((err as NvoError).code).toBe('invalid-input');
      for (const n of dialectNames()) expect((err as Error).message).toContain(n);
    }
  });

  it('has no triple-stash or {{& anywhere in the templates', () => {
    for (const name of dialectNames()) {
      for (const f of readdirSync(join(TEMPLATE_ROOT, name))) expect(readFileSync(join(TEMPLATE_ROOT, name, f), 'utf8')).not.toMatch(/\{\{\{|\{\{&/);
    }
  });

  it('renders nothing for an empty change', () => {
    for (const name of dialectNames()) expect(getDialect(name).render(diffConfig(withVni, withVni), device)).toBe('');
  });
});

for (const name of dialectNames()) {
  describe(`dialect ${name}`, () => {
    const dialect = getDialect(name);
    for (const [kind, [from, to]] of Object.entries(cases)) {
      it(`${kind}: matches its golden file${dialect.yangSet ? ' and the vendor YANG' : ''}`, () => {
        const xml = dialect.render(diffConfig(from, to), device);
        const file = join(GOLDEN, name, `${kind}.xml`);
        if (process.env.UPDATE_GOLDEN) {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, xml);
        }
        wellFormed(xml);
        expect(xml).toBe(readFileSync(file, 'utf8'));
        if (dialect.yangSet && canValidate && xml) {
          const f = join(tmp, `${name}-${kind}.xml`);
          writeFileSync(f, xml);
          try {
            execFileSync(VALIDATE, [dialect.yangSet, f], { stdio: 'pipe' });
          } catch (err) {
            throw new Error(`yang-validate ${dialect.yangSet} ${kind}: ${(err as { stdout?: Buffer }).stdout?.toString()}${(err as { stderr?: Buffer }).stderr?.toString()}`);
          }
        }
      });
    }

    // What each dialect's templates carry of the vendor-neutral change: nvo3-lab everything; the
    // vendor models have no place for some of it (docs/netconf.md, "What the vendor models cannot say").
    const RENDERED_FIELDS: Record<string, string[]> = {
      'nvo3-lab': ['addr', 'devId', 'devVtep', 'enc', 'mac', 'mcast', 'rd', 'rt', 'vlanName', 'vrf', 'vtep'],
      openconfig: ['devVtep', 'mcast', 'rd', 'rt', 'vlanName', 'vrf', 'vtep'],
      srlinux: ['rd', 'rt', 'vrf'],
      junos: ['addr', 'mac', 'mcast', 'rd', 'rt', 'vlanName', 'vrf', 'vtep'],
    };
    it('escapes <, &, ", ]]>]]> and ]]> in every string field and carries them as text', () => {
      const evil = (tag: string) => `${tag}<b>&amp;"x"]]>]]>y]]>'z`;
      const strings = {
        vlanName: evil('vlan'),
        vrf: evil('vrf'),
        rd: evil('rd'),
        rt: evil('rt'),
        enc: evil('enc'),
        mcast: evil('mcast'),
        vtep: evil('vtep'),
        mac: evil('mac'),
        addr: evil('addr'),
        devVtep: evil('devvtep'),
        devId: evil('devid'),
      };
      const hostile: DeviceConfig = {
        vlans: [{ id: 10, name: strings.vlanName }],
        vrfs: [{ name: strings.vrf, rd: strings.rd, importTargets: [strings.rt], exportTargets: [strings.rt] }],
        vnis: [{ vni: 5010, vlan: 10, encapsulation: strings.enc, vrf: strings.vrf, mcastGroup: strings.mcast }],
        floods: [{ vni: 5010, vtep: strings.vtep }],
        macs: [{ vni: 5010, mac: strings.mac, vtep: strings.vtep }],
        irbs: [{ vlan: 10, vrf: strings.vrf, address: strings.addr }],
      };
      const xml = dialect.render(diffConfig(emptyConfig(), hostile), { id: strings.devId, vtep: strings.devVtep });
      expect(xml).not.toContain(']]>]]>');
      expect(xml).not.toContain('<b>');
      const doc = wellFormed(xml);
      const texts: string[] = [];
      const walk = (n: Node) => {
        if (n.nodeType === 3 && n.nodeValue?.trim()) texts.push(n.nodeValue.trim());
        for (let c = n.firstChild; c; c = c.nextSibling) walk(c);
      };
      walk(doc.documentElement!);
      const all = texts.join('\n');
      // every string the dialect renders arrives intact, as text (not markup): which ones each dialect
      // renders is pinned, so a field dropped from a template, or one that stops arriving intact, fails
      const rendered = Object.entries(strings).filter(([, s]) => all.includes(s)).map(([k]) => k).sort();
      expect(rendered).toEqual(RENDERED_FIELDS[name]);
      for (const t of texts) if (t.includes('<b>')) expect(t).toMatch(/<b>&amp;"x"\]\]>\]\]>y\]\]>'z/);
    });
  });
}
