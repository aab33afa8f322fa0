// OpenConfig network-instance, VLAN and EVPN models. Remote VTEPs and remote MACs are state that
// OpenConfig devices learn from BGP EVPN (route types 3 and 2), not configuration.
import type { DialectTraits } from './dialect.ts';

export const openconfig: DialectTraits = {
  name: 'openconfig',
  description: 'OpenConfig network-instance / VLAN / EVPN (vendor-neutral models, BGP EVPN control plane)',
  filter: '<network-instances xmlns="http://openconfig.net/yang/network-instance"/>',
  yangSet: 'openconfig',
  notRendered: {
    // docs/netconf.md "What the vendor models cannot say"; test/drivers/netconf/vendor-yang-limits.test.ts
    floods: 'remote VTEPs are learned from BGP EVPN route type 3: OpenConfig has no configured replication peer list (connection-points/…/vxlan/endpoint-peers is state)',
    macs: 'remote MACs are learned from BGP EVPN route type 2: fdb/mac-table/entries/entry/config holds MAC and VLAN only, its destination is an interface-ref, never a VTEP',
    irbs: 'gateway interfaces are provisioned with the routed-VLAN interfaces outside nvo in this dialect',
  },
  quirks: { validateBeforeCommit: true },
};
