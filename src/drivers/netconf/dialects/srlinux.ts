// Nokia SR Linux native models: mac-vrf and ip-vrf network instances, VXLAN tunnel interfaces,
// static MACs in the bridge table.
import type { DialectTraits } from './dialect.ts';

export const srlinux: DialectTraits = {
  name: 'srlinux',
  description: 'Nokia SR Linux native YANG (mac-vrf / ip-vrf network instances, vxlan tunnel interfaces)',
  filter:
    '<network-instance xmlns="urn:nokia.com:srlinux:net-inst:network-instance"/><tunnel-interface xmlns="urn:nokia.com:srlinux:vxlan:tunnel-interfaces"/>',
  yangSet: 'srlinux',
  notRendered: {
    vlans: 'SR Linux binds VLANs on subinterfaces of access ports, which nvo does not own',
    // docs/netconf.md "What the vendor models cannot say"; test/drivers/netconf/vendor-yang-limits.test.ts
    floods: 'remote VTEPs are learned from BGP EVPN route type 3: vxlan-interface/bridge-table/multicast-destinations is state and destination-groups destinations have no VTEP leaf',
    macs: 'remote MACs are learned from BGP EVPN route type 2: bridge-table/static-mac/mac/destination is a subinterface, blackhole or connection-point, never a VTEP',
    irbs: 'irb subinterfaces are provisioned outside nvo in this dialect',
  },
  quirks: { validateBeforeCommit: true },
};
