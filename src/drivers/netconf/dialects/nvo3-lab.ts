// The lab's own YANG module (lab/yang/nvo3-lab.yang), loaded by the test netconfd servers.
import type { Element } from '@xmldom/xmldom';
import { emptyConfig, normalizeConfig, type DeviceConfig } from '../../../model/device-config.ts';
import { child, children, escapeXml, text } from '../xml.ts';
import type { DialectTraits } from './dialect.ts';

export const NVO3_LAB_NS = 'urn:nvo3:lab';

function parse(data: Element): DeviceConfig {
  const out = emptyConfig();
  const root = children(data, 'nvo').find((e) => e.namespaceURI === NVO3_LAB_NS);
  if (!root) return out;
  const t = (e: Element, name: string) => text(child(e, name));
  for (const v of children(root, 'vlan')) out.vlans.push({ id: Number(t(v, 'id')), name: t(v, 'name') ?? '' });
  for (const v of children(root, 'vrf')) {
    out.vrfs.push({
      name: t(v, 'name') ?? '',
      rd: t(v, 'rd') ?? '',
      importTargets: children(v, 'import-target').map((e) => text(e) ?? ''),
      exportTargets: children(v, 'export-target').map((e) => text(e) ?? ''),
    });
  }
  for (const v of children(root, 'vni')) {
    const vni = Number(t(v, 'id'));
    const vrf = t(v, 'vrf');
    const mcastGroup = t(v, 'mcast-group');
    out.vnis.push({ vni, vlan: Number(t(v, 'vlan')), encapsulation: t(v, 'encapsulation') ?? '', ...(vrf ? { vrf } : {}), ...(mcastGroup ? { mcastGroup } : {}) });
  }
  for (const f of children(root, 'flood')) out.floods.push({ vni: Number(t(f, 'vni')), vtep: t(f, 'vtep') ?? '' });
  for (const m of children(root, 'mac')) out.macs.push({ vni: Number(t(m, 'vni')), mac: t(m, 'address') ?? '', vtep: t(m, 'vtep') ?? '' });
  for (const v of children(root, 'irb')) out.irbs.push({ vlan: Number(t(v, 'vlan')), vrf: t(v, 'vrf') ?? '', address: t(v, 'address') ?? '' });
  for (const v of out.vrfs) {
    v.importTargets.sort();
    v.exportTargets.sort();
  }
  return normalizeConfig(out);
}

// One containment node per entry, holding only its key leaves (lab/yang/nvo3-lab.yang) as content
// match nodes: the device answers with those list entries whole, and with nothing for a missing one.
function filterFor(c: DeviceConfig): string {
  const leaf = (name: string, v: string | number) => `<${name}>${escapeXml(String(v))}</${name}>`;
  const entries = [
    ...c.vlans.map((e) => `<vlan>${leaf('id', e.id)}</vlan>`),
    ...c.vrfs.map((e) => `<vrf>${leaf('name', e.name)}</vrf>`),
    ...c.vnis.map((e) => `<vni>${leaf('id', e.vni)}</vni>`),
    ...c.floods.map((e) => `<flood>${leaf('vni', e.vni)}${leaf('vtep', e.vtep)}</flood>`),
    ...c.macs.map((e) => `<mac>${leaf('vni', e.vni)}${leaf('address', e.mac)}</mac>`),
    ...c.irbs.map((e) => `<irb>${leaf('vlan', e.vlan)}</irb>`),
  ];
  return `<nvo xmlns="${NVO3_LAB_NS}">${entries.join('')}</nvo>`;
}

export const nvo3Lab: DialectTraits = {
  name: 'nvo3-lab',
  description: "nvo's own lab YANG module (urn:nvo3:lab), served by netconfd in the lab and the tests",
  filter: `<nvo xmlns="${NVO3_LAB_NS}"/>`,
  filterFor,
  notRendered: {},
  quirks: { validateBeforeCommit: false },
  parse,
};
