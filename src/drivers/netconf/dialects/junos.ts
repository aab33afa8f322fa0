// Juniper Junos configuration XML (the <configuration> tree of edit-config on Junos).
import type { DialectTraits } from './dialect.ts';

export const junos: DialectTraits = {
  name: 'junos',
  description: 'Juniper Junos <configuration> (vlans with vxlan vni, routing-instances, static remote VTEPs)',
  filter: '<configuration><vlans/><routing-instances/><switch-options/></configuration>',
  notRendered: {},
  quirks: { validateBeforeCommit: true },
};
