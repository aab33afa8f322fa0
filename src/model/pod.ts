// Use case 2: an L2 pod — its own VLAN space, its ToR pair, and the gateways that serve it.
import { z } from 'zod';
import { id, vlanRanges } from './fields.ts';

export const podSchema = z
  .strictObject({
    id,
    vlanRanges: vlanRanges.default(['1-4000']),
    tors: z.array(id).min(1, 'a pod needs at least one ToR').max(2, 'a pod has a ToR pair at most'),
    wanGateway: id,
    torGateway: id,
    /** Where the tenant's default gateway (IRB) lives: on the pod's ToRs, or on the gateways behind the backbone. */
    routing: z.enum(['tor', 'gateway']).default('gateway'),
  })
  .superRefine((p, ctx) => {
    if (new Set(p.tors).size !== p.tors.length) ctx.addIssue({ code: 'custom', path: ['tors'], message: 'a ToR is listed twice' });
  });

export type Pod = z.output<typeof podSchema>;
