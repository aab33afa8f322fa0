// Nokia SR Linux native models: mac-vrf and ip-vrf network instances, VXLAN tunnel interfaces,
// static MACs in the bridge table.
import type { DialectTraits } from './dialect.ts';

export const srlinux: DialectTraits = {
  name: 'srlinux',
  description: 'Nokia SR Linux native YANG (mac-vrf / ip-vrf network instances, vxlan tunnel interfaces)',
  filter:
    '<network-instance xmlns="urn:nokia.com:srlinux:net-inst:network-instance"/><tunnel-interface xmlns="urn:nokia.com:srlinux:tunnel-interfaces:tunnel-interface"/>',
  yangSet: 'srlinux',
  learned: ['floods'],
  quirks: { validateBeforeCommit: true },
};
