// netsim's nvo3-lab rules (src/netsim/nvo3-lab.ts, written by hand) judged against yanglint
// (libyang, an independent YANG implementation) on the lab's own module: every payload that one
// accepts the other accepts, and every one that one rejects the other rejects.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseXml } from '../../src/drivers/netconf/xml.ts';
import { DeviceError } from '../../src/netsim/device-error.ts';
import { Device } from '../../src/netsim/device.ts';

const yang = resolve(dirname(fileURLToPath(import.meta.url)), '../../lab/yang/nvo3-lab.yang');
const haveYanglint = existsSync('/usr/bin/yanglint');
if (!haveYanglint) console.warn('skipping the yanglint cross-check: Debian libyang-tools is not installed (scripts/test.sh installs it)');
const dir = mkdtempSync(join(tmpdir(), 'nvo-netsim-yang-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vrf = '<vrf><name>red</name><rd>65000:10</rd><import-target>65000:10</import-target></vrf>';
const vlan10 = '<vlan><id>10</id><name>tenant-a</name></vlan>';
const vni = (inner: string) => `<vni><id>5010</id><vlan>10</vlan><encapsulation>vxlan</encapsulation>${inner}</vni>`;
const mac = (address: string, vtep = '<vtep>192.0.2.12</vtep>') => `<mac><vni>5010</vni><address>${address}</address>${vtep}</mac>`;
const cases: Record<string, string> = {
  'a full valid configuration': `<device-id>tor1</device-id><vtep>192.0.2.11</vtep>${vlan10}${vrf}${vni('<vrf>red</vrf><mcast-group>239.1.1.10</mcast-group>')}<flood><vni>5010</vni><vtep>192.0.2.12</vtep></flood>${mac('02:00:00:00:00:01')}<irb><vlan>10</vlan><vrf>red</vrf><address>198.51.100.1/24</address></irb>`,
  'VLAN 0': '<vlan><id>0</id></vlan>',
  'VLAN 4094': '<vlan><id>4094</id></vlan>',
  'VLAN 4095': '<vlan><id>4095</id></vlan>',
  'VLAN 5000': '<vlan><id>5000</id></vlan>',
  'VLAN abc': '<vlan><id>abc</id></vlan>',
  'upper-case MAC': `${vlan10}${vni('')}${mac('02:00:00:00:00:AB')}`,
  'short MAC': `${vlan10}${vni('')}${mac('02:00:00:00:01')}`,
  'MAC without vtep': `${vlan10}${vni('')}${mac('02:00:00:00:00:01', '')}`,
  'MAC of a missing VNI': `${vlan10}${mac('02:00:00:00:00:01')}`,
  'VLAN name of 2048 characters': `<vlan><id>10</id><name>${'n'.repeat(2048)}</name></vlan>`,
  'VLAN name of 2049 characters': `<vlan><id>10</id><name>${'n'.repeat(2049)}</name></vlan>`,
  'VNI 0': `${vlan10}<vni><id>0</id><vlan>10</vlan><encapsulation>vxlan</encapsulation></vni>`,
  'VNI 16777215': `${vlan10}<vni><id>16777215</id><vlan>10</vlan><encapsulation>vxlan</encapsulation></vni>`,
  'VNI 16777216': `${vlan10}<vni><id>16777216</id><vlan>10</vlan><encapsulation>vxlan</encapsulation></vni>`,
  'VNI on a missing VLAN': '<vni><id>5010</id><vlan>10</vlan><encapsulation>vxlan</encapsulation></vni>',
  'VNI without encapsulation': `${vlan10}<vni><id>5010</id><vlan>10</vlan></vni>`,
  'VNI with an unknown encapsulation': `${vlan10}<vni><id>5010</id><vlan>10</vlan><encapsulation>stt</encapsulation></vni>`,
  'VNI in a missing VRF': `${vlan10}${vni('<vrf>blue</vrf>')}`,
  'multicast group not IPv4': `${vlan10}${vni('<mcast-group>ff0e::1</mcast-group>')}`,
  'flood VTEP not an address': `${vlan10}${vni('')}<flood><vni>5010</vni><vtep>tor2</vtep></flood>`,
  'VRF without rd': '<vrf><name>red</name></vrf>',
  'IRB without VRF': `${vlan10}<irb><vlan>10</vlan><address>198.51.100.1/24</address></irb>`,
  'unknown element': '<vlan><id>10</id><colour>red</colour></vlan>',
  'device-id too long': `<device-id>${'x'.repeat(65)}</device-id>`,
};

function yanglintAccepts(name: string, body: string): Promise<boolean> {
  const file = join(dir, `${name.replace(/\W+/g, '-')}.xml`);
  writeFileSync(file, `<nvo xmlns="urn:nvo3:lab">${body}</nvo>`);
  return new Promise((done) => execFile('/usr/bin/yanglint', ['-t', 'config', yang, file], { timeout: 30_000 }, (err) => done(!err)));
}

function netsimAccepts(body: string): boolean {
  const device = new Device(0, { commitDelayMs: 0, checks: true });
  try {
    device.editConfig(1, parseXml(`<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><nvo xmlns="urn:nvo3:lab">${body}</nvo></config>`), { defaultOperation: 'merge', testOption: 'test-then-set', errorOption: 'stop-on-error' });
    return true;
  } catch (err) {
    if (!(err instanceof DeviceError)) throw err;
    return false;
  }
}

describe.skipIf(!haveYanglint)('nvo3-lab rules: netsim agrees with yanglint', () => {
  it.each(Object.keys(cases))('%s', async (name) => {
    const body = cases[name]!;
    const expected = await yanglintAccepts(name, body);
    expect(netsimAccepts(body)).toBe(expected);
  });

  it('the cases cover both answers', async () => {
    const answers = await Promise.all(Object.entries(cases).map(([n, b]) => yanglintAccepts(`both-${n}`, b)));
    expect(answers.filter(Boolean).length).toBeGreaterThanOrEqual(4);
    expect(answers.filter((a) => !a).length).toBeGreaterThanOrEqual(15);
  });
});
