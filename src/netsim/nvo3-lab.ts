// lab/yang/nvo3-lab.yang as netsim's schema, written out by hand (a YANG compiler is out of scope);
// test/netsim/nvo3-lab-rules.test.ts runs the same payloads through yanglint and netsim, so the two
// cannot drift apart unnoticed.
import type { Module, SchemaNode } from './schema.ts';

const vlanId = { base: 'uint', min: 1, max: 4094 } as const;
const vniId = { base: 'uint', min: 1, max: 16777215 } as const;
const ip = { base: 'ip-address' } as const;
const name128 = { base: 'string', minLength: 1, maxLength: 128 } as const;
const str = { base: 'string' } as const;

const leaf = (type: Extract<SchemaNode, { kind: 'leaf' }>['type'], more: { mandatory?: boolean; leafref?: string[] } = {}): SchemaNode => ({ kind: 'leaf', type, ...more });

export const nvo3Lab: Module = {
  name: 'nvo3-lab',
  revision: '2026-11-27',
  namespace: 'urn:nvo3:lab',
  prefix: 'nvo',
  top: {
    nvo: {
      kind: 'container',
      children: {
        'device-id': leaf({ base: 'string', minLength: 1, maxLength: 64 }),
        vtep: leaf(ip),
        vlan: { kind: 'list', key: ['id'], children: { id: leaf(vlanId), name: leaf({ base: 'string', minLength: 0, maxLength: 2048 }) } },
        vrf: {
          kind: 'list',
          key: ['name'],
          children: {
            name: leaf(name128),
            rd: leaf(str, { mandatory: true }),
            'import-target': { kind: 'leaf-list', type: str },
            'export-target': { kind: 'leaf-list', type: str },
          },
        },
        vni: {
          kind: 'list',
          key: ['id'],
          children: {
            id: leaf(vniId),
            vlan: leaf(vlanId, { mandatory: true, leafref: ['nvo', 'vlan', 'id'] }),
            encapsulation: leaf({ base: 'enumeration', values: ['vxlan', 'nvgre', 'mpls-over-gre', 'geneve'] }, { mandatory: true }),
            vrf: leaf(name128, { leafref: ['nvo', 'vrf', 'name'] }),
            'mcast-group': leaf({ base: 'ipv4-address' }),
          },
        },
        // flat lists keyed by VNI (not nested in vni): see the module's history
        flood: { kind: 'list', key: ['vni', 'vtep'], children: { vni: leaf(vniId, { leafref: ['nvo', 'vni', 'id'] }), vtep: leaf(ip) } },
        mac: {
          kind: 'list',
          key: ['vni', 'address'],
          children: {
            vni: leaf(vniId, { leafref: ['nvo', 'vni', 'id'] }),
            address: leaf({ base: 'string', pattern: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/ }),
            vtep: leaf(ip, { mandatory: true }),
          },
        },
        irb: {
          kind: 'list',
          key: ['vlan'],
          children: {
            vlan: leaf(vlanId, { leafref: ['nvo', 'vlan', 'id'] }),
            vrf: leaf(name128, { mandatory: true, leafref: ['nvo', 'vrf', 'name'] }),
            address: leaf(str, { mandatory: true }),
          },
        },
      },
    },
  },
};

export const MODULES: Module[] = [nvo3Lab];
