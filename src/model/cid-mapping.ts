// Use case 2: the network admin's CID → VNI and VRF mapping.
import { z } from 'zod';
import { id, routeDistinguisher, routeTarget } from './fields.ts';
import { VNI_MAX, VNI_MIN } from './net.ts';

export const vni = z.number().int('must be a whole number').min(VNI_MIN, `must be ${VNI_MIN}..${VNI_MAX}`).max(VNI_MAX, `must be ${VNI_MIN}..${VNI_MAX}`);

export const cidMappingSchema = z.strictObject({
  cid: id,
  /** Given by the admin, or taken from settings.vniPool when absent. */
  vni: vni.optional(),
  vrf: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'must be 1-32 letters, digits, "_" or "-"'),
    rd: routeDistinguisher,
    importTargets: z.array(routeTarget).min(1, 'name at least one route target'),
    exportTargets: z.array(routeTarget).min(1, 'name at least one route target'),
  }),
});

export type CidMapping = z.output<typeof cidMappingSchema>;
