// OpenConfig network-instance, VLAN and EVPN models. Remote VTEPs and remote MACs are state that
// OpenConfig devices learn from BGP EVPN (route types 3 and 2), not configuration.
import type { DialectTraits } from './dialect.ts';

export const openconfig: DialectTraits = {
  name: 'openconfig',
  description: 'OpenConfig network-instance / VLAN / EVPN (vendor-neutral models, BGP EVPN control plane)',
  filter: '<network-instances xmlns="http://openconfig.net/yang/network-instance"/>',
  yangSet: 'openconfig',
  learned: ['floods', 'macs'],
  quirks: { validateBeforeCommit: true },
};
