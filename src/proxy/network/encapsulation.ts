// Use case 4: ONE encapsulation for the VNI — the tenant's most preferred one that the hNVE, the WAN
// gateway and the ToR gateway all support. A VNI that already runs one keeps it (devices carry one
// encapsulation per VNI), so a later hNVE that cannot speak it gets 488 rather than a split VNI.
import type { Encapsulation } from '../../model/fields.ts';
import { StatusError } from '../protocol/status.ts';

export function pickEncapsulation(a: {
  tenant: readonly Encapsulation[];
  hnve: readonly string[];
  wan: { id: string; encapsulations: readonly string[] };
  tgw: { id: string; encapsulations: readonly string[] };
  inUse?: string;
}): Encapsulation {
  const common = a.tenant.filter((e) => a.hnve.includes(e) && a.wan.encapsulations.includes(e) && a.tgw.encapsulations.includes(e));
  const offered = { tenant: a.tenant, hnve: a.hnve, [a.wan.id]: a.wan.encapsulations, [a.tgw.id]: a.tgw.encapsulations };
  if (a.inUse) {
    if (common.includes(a.inUse as Encapsulation)) return a.inUse as Encapsulation;
    throw new StatusError(488, `the VNI already runs ${a.inUse}, which is not common to the tenant, the hNVE and the gateways (common: ${common.join(', ') || 'none'})`, { offered, inUse: a.inUse });
  }
  const pick = common[0];
  if (!pick) throw new StatusError(488, 'no encapsulation is common to the tenant, the hNVE, the WAN gateway and the ToR gateway', { offered });
  return pick;
}
