// Why the openconfig and srlinux dialects render no static MAC → VTEP entries and no flood lists:
// the vendor YANG has no configuration node for a remote VTEP. Each probe is a minimal payload the
// schema accepts, then the same payload with the remote VTEP added where it would have to go, which
// the schema refuses. If a model revision adds such a node, this test fails and the dialect can
// render the entries (docs/netconf.md, "What the vendor models cannot say").
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const VALIDATE = '/work/shared/tools/yang-validate';
const canValidate = existsSync(VALIDATE);
if (!canValidate) console.log(`skipping the vendor YANG probes: ${VALIDATE} is absent (it exists only on the project's machines and CI)`);

const tmp = mkdtempSync(join(tmpdir(), 'nvo-yang-probe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function validate(set: string, xml: string, extra: string[] = []): { ok: boolean; out: string } {
  const f = join(tmp, `probe-${n++}.xml`);
  writeFileSync(f, xml);
  try {
    execFileSync(VALIDATE, [set, f, ...extra], { stdio: 'pipe' });
    return { ok: true, out: '' };
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return { ok: false, out: `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` };
  }
}

const OC_NI = (body: string) =>
  `<network-instances xmlns="http://openconfig.net/yang/network-instance" xmlns:oc-ni-types="http://openconfig.net/yang/network-instance-types"><network-instance><name>default</name><config><name>default</name><type>oc-ni-types:DEFAULT_INSTANCE</type></config>${body}</network-instance></network-instances>`;
const ocMac = (extra: string) =>
  OC_NI(
    '<vlans><vlan><vlan-id>10</vlan-id><config><vlan-id>10</vlan-id></config></vlan></vlans>' +
      `<fdb><mac-table><entries><entry><mac-address>02:00:00:00:00:01</mac-address><vlan>10</vlan><config><mac-address>02:00:00:00:00:01</mac-address><vlan>10</vlan>${extra}</config></entry></entries></mac-table></fdb>`,
  );
const ocEndpoint = (vxlan: string) =>
  OC_NI(
    '<connection-points><connection-point><connection-point-id>nve1</connection-point-id><config><connection-point-id>nve1</connection-point-id></config>' +
      `<endpoints><endpoint><endpoint-id>192.0.2.1</endpoint-id><config><endpoint-id>192.0.2.1</endpoint-id></config><vxlan>${vxlan}</vxlan></endpoint></endpoints></connection-point></connection-points>`,
  );
const srlVxlan = (inner: string) =>
  `<tunnel-interface xmlns="urn:nokia.com:srlinux:vxlan:tunnel-interfaces"><name>vxlan1</name><vxlan-interface><index>5010</index><type xmlns:srl_nokia-if="urn:nokia.com:srlinux:chassis:interfaces">srl_nokia-if:bridged</type><ingress><vni>5010</vni></ingress>${inner}</vxlan-interface></tunnel-interface>`;
const srlGroup = (extra: string) => srlVxlan(`<egress><destination-groups><group><name>flood</name><destination><index>1</index><vni>5010</vni>${extra}</destination></group></destination-groups></egress>`);
const MCAST_NS = 'urn:nokia.com:srlinux:mcid:tunnel-interfaces-vxlan-interface-bridge-table-multicast-destinations';
const MCAST_MOD = ['--module', 'srl_nokia-tunnel-interfaces-vxlan-interface-bridge-table-multicast-destinations'];

describe.skipIf(!canValidate)('the vendor YANG has no configuration node for a remote VTEP', () => {
  it('OpenConfig: an fdb mac-table entry is configured by MAC and VLAN only (it points at an interface), no VTEP', () => {
    expect(validate('openconfig', ocMac('')).ok).toBe(true);
    const withPeer = validate('openconfig', ocMac('<peer-ip>192.0.2.2</peer-ip>'));
    expect(withPeer.ok).toBe(false);
    expect(withPeer.out).toContain('Node "peer-ip" not found as a child of "config"');
  });

  it('OpenConfig: the VXLAN endpoint peers (the flood list) are state, filled from BGP EVPN', () => {
    expect(validate('openconfig', ocEndpoint(''), ['--type', 'config']).ok).toBe(true);
    const peers = validate('openconfig', ocEndpoint('<endpoint-peers><endpoint-peer><peer-address>192.0.2.2</peer-address></endpoint-peer></endpoint-peers>'), ['--type', 'config']);
    expect(peers.ok).toBe(false);
    expect(peers.out).toContain('Unexpected data state node "endpoint-peers"');
  });

  it('SR Linux: a vxlan-interface destination-group destination carries a VNI but no VTEP', () => {
    expect(validate('srlinux', srlGroup('')).ok).toBe(true);
    const withVtep = validate('srlinux', srlGroup('<vtep>192.0.2.2</vtep>'));
    expect(withVtep.ok).toBe(false);
    expect(withVtep.out).toContain('Node "vtep" not found as a child of "destination"');
  });

  it('SR Linux: the multicast (flood) destinations of a vxlan-interface are state, filled from EVPN IMET routes', () => {
    expect(validate('srlinux', srlVxlan('<bridge-table/>'), ['--type', 'config', ...MCAST_MOD]).ok).toBe(true);
    const flood = validate('srlinux', srlVxlan(`<bridge-table><multicast-destinations xmlns="${MCAST_NS}"><destination><vtep>192.0.2.2</vtep><vni>5010</vni></destination></multicast-destinations></bridge-table>`), [
      '--type',
      'config',
      ...MCAST_MOD,
    ]);
    expect(flood.ok).toBe(false);
    expect(flood.out).toContain('Unexpected data state node "multicast-destinations"');
  });
});
