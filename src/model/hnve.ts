// Use case 3: a hypervisor NVE as the admin provisions it — where it is (pod, VTEP), what it can
// encapsulate, the secret it authenticates with, and which tenant proxy it must use.
import { z } from 'zod';
import { encapsulations, id, ip } from './fields.ts';

export const hnveSchema = z.strictObject({
  id,
  pod: id,
  vtep: ip,
  encapsulations: encapsulations.default(['vxlan']),
  /** Shared secret for the digest (docs/protocol.md); at least 128 bits of it. */
  secret: z.string().min(16, 'at least 16 characters').max(256, 'at most 256 characters'),
  /** The tenant proxy the NVE must register with (its id), when several serve the fleet. */
  tenantProxy: id.optional(),
});

export type Hnve = z.output<typeof hnveSchema>;
/** What every view shows: never the secret. */
export type HnveView = Omit<Hnve, 'secret'>;

export function publicView(h: Hnve): HnveView {
  const { secret: _secret, ...rest } = h;
  return rest;
}
