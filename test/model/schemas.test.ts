import { describe, expect, it } from 'vitest';
import { tenantSchema } from '../../src/model/tenant.ts';
import { deviceSchema } from '../../src/model/device.ts';
import { podSchema } from '../../src/model/pod.ts';
import { cidMappingSchema } from '../../src/model/cid-mapping.ts';
import { parseInput } from '../../src/model/validate.ts';
import { NvoError } from '../../src/errors.ts';

function issues(schema: Parameters<typeof parseInput>[0], input: unknown) {
  try {
    parseInput(schema, input, 'thing');
  } catch (e) {
    if (e instanceof NvoError) return e.issues;
    throw e;
  }
  return [];
}

const tenant = { cid: 'acme', name: 'Acme <&> "Corp"', subnet: '192.0.2.0/24', gateway: '192.0.2.1' };

describe('tenant schema', () => {
  it('accepts a valid tenant and fills defaults', () => {
    expect(tenantSchema.parse(tenant)).toEqual({ ...tenant, multicast: false, encapsulations: ['vxlan'] });
  });
  it.each([
    [{ subnet: '192.0.2.0' }, 'subnet', /prefix length/],
    [{ subnet: '192.0.2.5/24' }, 'subnet', /host bits set; the network is 192.0.2.0\/24/],
    [{ gateway: '198.51.100.1' }, 'gateway', /outside the subnet/],
    [{ gateway: '192.0.2.255' }, 'gateway', /broadcast/],
    [{ encapsulations: ['vxlan', 'vxlan'] }, 'encapsulations', /twice/],
    [{ encapsulations: ['ipsec'] }, 'encapsulations[0]', /./],
    [{ name: 'a\u0001b' }, 'name', /control characters/],
    [{ colour: 'red' }, 'colour', /^unknown field$/],
    [{ name: undefined }, 'name', /^is required$/],
  ])('rejects %j on %s', (patch, field, reason) => {
    const found = issues(tenantSchema, { ...tenant, ...patch });
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.field).toBe(field);
    expect(found[0]!.reason).toMatch(reason);
  });
});

const device = { id: 'wan1', role: 'wan-gw', driver: 'netconf', dialect: 'openconfig', vtep: '203.0.113.1', management: { host: '127.0.0.1', username: 'nc', password: 'x' } };

describe('device and pod schemas', () => {
  it('canonicalizes VLAN ranges', () => {
    expect(deviceSchema.parse({ ...device, vlanRanges: ['200-299', 100, '101-150', '300'] }).vlanRanges).toEqual(['100-150', '200-300']);
  });
  it.each([0, 4095, 5000])('rejects VLAN %d with its index', (v) => {
    const found = issues(deviceSchema, { ...device, vlanRanges: ['10-20', v] });
    expect(found[0]).toMatchObject({ field: 'vlanRanges[1]', reason: expect.stringMatching(/outside 1\.\.4094/) });
  });
  it('needs a JID for xmpp devices and management for netconf', () => {
    expect(issues(deviceSchema, { ...device, driver: 'xmpp', management: undefined })[0]!.field).toBe('jid');
    expect(issues(deviceSchema, { ...device, management: undefined })[0]!.field).toBe('management');
  });
  it('keeps multicast pools inside 224.0.0.0/4 on NG-MVPN gateways only', () => {
    expect(issues(deviceSchema, { ...device, mcastGroups: ['239.1.0.0/24'] })[0]!.field).toBe('mcastGroups');
    expect(issues(deviceSchema, { ...device, ngMvpn: true, mcastGroups: ['10.0.0.0/24'] })[0]!.field).toBe('mcastGroups[0]');
    expect(deviceSchema.parse({ ...device, ngMvpn: true, mcastGroups: ['239.1.0.0/24'] }).mcastGroups).toEqual(['239.1.0.0/24']);
  });
  it('pod defaults to VLANs 1-4000 and refuses a ToR listed twice', () => {
    const pod = { id: 'pod1', tors: ['tor1', 'tor2'], wanGateway: 'wan1', torGateway: 'tgw1' };
    expect(podSchema.parse(pod).vlanRanges).toEqual(['1-4000']);
    expect(issues(podSchema, { ...pod, tors: ['tor1', 'tor1'] })[0]!.field).toBe('tors');
  });
});

describe('CID mapping schema', () => {
  const m = { cid: 'acme', vrf: { name: 'acme', rd: '65000:100', importTargets: ['target:65000:100'], exportTargets: ['65000:100'] } };
  it('strips the target: prefix', () => {
    expect(cidMappingSchema.parse(m).vrf.importTargets).toEqual(['65000:100']);
  });
  it.each([
    [{ vni: 0 }, 'vni'],
    [{ vni: 16777216 }, 'vni'],
    [{ vrf: { ...m.vrf, rd: '65000' } }, 'vrf.rd'],
    [{ vrf: { ...m.vrf, rd: '4200000000:70000' } }, 'vrf.rd'],
    [{ vrf: { ...m.vrf, exportTargets: [] } }, 'vrf.exportTargets'],
  ])('rejects %j', (patch, field) => {
    expect(issues(cidMappingSchema, { ...m, ...patch })[0]!.field).toBe(field);
  });
});
