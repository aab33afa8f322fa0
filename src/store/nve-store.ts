// hNVEs as the admin provisions them (use case 3), in one Redis hash id → JSON. The secret is kept
// in clear because the digest needs it (HMAC key); views never show it. Each write keeps the VTEP
// index (vtep-owners.ts) in the same MULTI, and reads only its own record and one index field.
import type { Redis } from 'ioredis';
import { conflict, notFound } from '../errors.ts';
import { hnveSchema, type Hnve } from '../model/hnve.ts';
import type { Pod } from '../model/pod.ts';
import { naturalCompare } from '../model/natural-order.ts';
import { invalidInput, parseInput } from '../model/validate.ts';
import type { Keys } from './keys.ts';
import { TxRunner } from './redis-tx.ts';
import { claimVtep, releaseVtep } from './vtep-owners.ts';

export interface PodReader {
  getPod(id: string): Promise<Pod | null>;
}

export class NveStore {
  // No idle connections kept: callers make NveStores freely and never close them, and a put is an
  // admin's rare write, so each transaction opens its own connection and ends it.
  private readonly tx: TxRunner;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly pods: PodReader,
  ) {
    this.tx = new TxRunner(redis, 0);
  }

  async get(id: string): Promise<Hnve | null> {
    const raw = await this.redis.hget(this.k.hnves, id);
    return raw ? (JSON.parse(raw) as Hnve) : null;
  }

  async show(id: string): Promise<Hnve> {
    const h = await this.get(id);
    if (!h) throw notFound('hNVE', id);
    return h;
  }

  async list(): Promise<Hnve[]> {
    const all = await this.redis.hgetall(this.k.hnves);
    return Object.keys(all)
      .sort(naturalCompare)
      .map((id) => JSON.parse(all[id]!) as Hnve);
  }

  async secretOf(id: string): Promise<string | null> {
    return (await this.get(id))?.secret ?? null;
  }

  /** Adds or, with `replace`, updates an hNVE. The pod must exist; its VTEP must be no other NVE's. */
  async put(input: unknown, opts: { replace?: boolean } = {}): Promise<Hnve> {
    const h = parseInput(hnveSchema, input, 'hNVE');
    if (!(await this.pods.getPod(h.pod))) throw invalidInput('hNVE', [{ field: 'pod', reason: `no pod '${h.pod}'` }]);
    return this.tx.run(async (tx) => {
      await tx.watch(this.k.hnves);
      const raw = await tx.conn.hget(this.k.hnves, h.id);
      if (opts.replace && raw === null) throw notFound('hNVE', h.id);
      if (!opts.replace && raw !== null) throw conflict(`hNVE '${h.id}' already exists`, { kind: 'hnve', id: h.id });
      const previous = raw === null ? undefined : (JSON.parse(raw) as Hnve).vtep;
      const index = await claimVtep(tx, this.k, this.tx, { kind: 'hNVE', id: h.id }, h.vtep, previous);
      return { result: h, write: (m) => (m.hset(this.k.hnves, h.id, JSON.stringify(h)), index(m)) };
    });
  }

  /** Removes an hNVE that has no sessions left. */
  async remove(id: string): Promise<void> {
    await this.tx.run(async (tx) => {
      await tx.watch(this.k.hnves, this.k.sessionsOfNve(id));
      const raw = await tx.conn.hget(this.k.hnves, id);
      if (raw === null) throw notFound('hNVE', id);
      const sessions = await tx.conn.scard(this.k.sessionsOfNve(id));
      if (sessions > 0) throw conflict(`hNVE '${id}' still has ${sessions} session(s); BYE them or let its registration expire first`, { kind: 'hnve', id, sessions });
      const index = await releaseVtep(tx, this.k, { kind: 'hNVE', id }, (JSON.parse(raw) as Hnve).vtep);
      return { result: undefined, write: (m) => (m.hdel(this.k.hnves, id), index(m)) };
    });
  }
}
