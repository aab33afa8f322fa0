// How far each hNVE has got with its VNI's MAC table: the table's revision and, per NVE, the revision
// it acknowledged (INFO/NOTIFY answers, issue 3). The views take whatever an AckSource gives and show
// `?` where it knows nothing, so they work before, and without, per-NVE acknowledgements.
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';

export interface AckSource {
  /** The VNI table's current revision, or null when the CID's table is not numbered. */
  tableRevision(cid: string): Promise<number | null>;
  /** NVE → the highest revision it acknowledged having applied. */
  acknowledged(cid: string): Promise<Map<string, number>>;
}

/** Reads the keys the membership's numbered log keeps (`np:vni:rev:<cid>`, hash `np:vni:ack:<cid>`; membership.ts vniKeys). */
export function redisAckSource(redis: Redis, k: Keys): AckSource {
  return {
    async tableRevision(cid) {
      const raw = await redis.get(`${k.prefix}np:vni:rev:${cid}`);
      return raw === null ? null : Number(raw);
    },
    async acknowledged(cid) {
      const h = await redis.hgetall(`${k.prefix}np:vni:ack:${cid}`);
      return new Map(Object.entries(h).map(([nve, rev]) => [nve, Number(rev)]));
    },
  };
}

export const noAcks: AckSource = {
  tableRevision: async () => null,
  acknowledged: async () => new Map(),
};
