// How far each hNVE has got with its VNI's MAC table: the table's revision and, per NVE, the revision
// it acknowledged (INFO/NOTIFY answers, issue 3). The views take whatever an AckSource gives and show
// `?` where it knows nothing, so they work before, and without, per-NVE acknowledgements.
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';
import { vniKeys } from '../network/membership.ts';

export interface AckSource {
  /** The VNI table's current revision, or null when the CID's table is not numbered. */
  tableRevision(cid: string): Promise<number | null>;
  /** NVE → the highest revision it acknowledged having applied. */
  acknowledged(cid: string): Promise<Map<string, number>>;
}

/** Reads what the membership's numbered log keeps (membership.ts vniKeys: the CID's revision, its ack hash). */
export function redisAckSource(redis: Redis, k: Keys): AckSource {
  const v = vniKeys(k);
  return {
    async tableRevision(cid) {
      const raw = await redis.get(v.rev(cid));
      return raw === null ? null : Number(raw);
    },
    async acknowledged(cid) {
      const h = await redis.hgetall(v.ack(cid));
      return new Map(Object.entries(h).map(([nve, rev]) => [nve, Number(rev)]));
    },
  };
}

export const noAcks: AckSource = {
  tableRevision: async () => null,
  acknowledged: async () => new Map(),
};
