// The registrar (use case 3) in Redis: one hash per registered NVE that expires with the
// registration, and a sorted set of expiry times that outlives it, so the grace-period reaper of any
// process finds NVEs that went away and tears their sessions down (ZREM decides which process does).
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';

export interface Registration {
  nve: string;
  pod: string;
  vtep: string;
  callId: string;
  /** The tenant-proxy process and connection that hold the NVE's WebSocket. */
  proc: string;
  conn: string;
  registeredAt: string;
  expiresAt: string;
}

export class Registrar {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  async put(r: Registration, expiresSeconds: number): Promise<void> {
    const key = this.k.registration(r.nve);
    await this.redis
      .multi()
      .del(key)
      .hset(key, r as unknown as Record<string, string>)
      .pexpire(key, expiresSeconds * 1000)
      .zadd(this.k.registrationExpiry, Date.parse(r.expiresAt), r.nve)
      .exec();
  }

  /** De-registration (expires 0): gone now; its sessions go after the grace period like an expiry. */
  async remove(nve: string): Promise<void> {
    await this.redis.multi().del(this.k.registration(nve)).zadd(this.k.registrationExpiry, Date.now(), nve).exec();
  }

  async get(nve: string): Promise<Registration | null> {
    const h = await this.redis.hgetall(this.k.registration(nve));
    return h.nve ? (h as unknown as Registration) : null;
  }

  async list(): Promise<Registration[]> {
    const nves = await this.redis.zrange(this.k.registrationExpiry, 0, -1);
    const out: Registration[] = [];
    for (const n of nves.sort()) {
      const r = await this.get(n);
      if (r) out.push(r);
    }
    return out;
  }

  /** NVEs whose registration ended more than graceMs ago, each claimed by exactly one caller. */
  async claimExpired(graceMs: number): Promise<string[]> {
    const due = await this.redis.zrangebyscore(this.k.registrationExpiry, 0, Date.now() - graceMs);
    const mine: string[] = [];
    for (const nve of due) {
      if (await this.redis.exists(this.k.registration(nve))) continue; // refreshed meanwhile
      if ((await this.redis.zrem(this.k.registrationExpiry, nve)) === 1) mine.push(nve);
    }
    return mine;
  }
}
