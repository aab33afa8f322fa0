// Tenant-proxy sessions in Redis: one hash per call id (who, which VM, which branches answered what),
// indexed per NVE and overall.
import type { Redis } from 'ioredis';
import type { Keys } from '../../store/keys.ts';

export interface Session {
  callId: string;
  nve: string;
  cid: string;
  pod: string;
  mac: string;
  ip?: string;
  state: 'proceeding' | 'established';
  cancelled?: boolean;
  /** Network proxies the INVITE went to. */
  branches: string[];
  answer?: Record<string, unknown>;
  createdAt: string;
}

export class Sessions {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  /** Creates the session unless the call id exists; returns the existing one then. */
  async create(s: Session): Promise<Session | null> {
    const ok = await this.redis.set(this.k.session(s.callId), JSON.stringify(s), 'NX');
    if (!ok) return this.get(s.callId);
    await this.redis.multi().sadd(this.k.sessionsOfNve(s.nve), s.callId).sadd(this.k.sessionIndex, s.callId).exec();
    return null;
  }

  async get(callId: string): Promise<Session | null> {
    const raw = await this.redis.get(this.k.session(callId));
    return raw ? (JSON.parse(raw) as Session) : null;
  }

  async save(s: Session): Promise<void> {
    await this.redis.set(this.k.session(s.callId), JSON.stringify(s), 'XX');
  }

  async remove(s: Pick<Session, 'callId' | 'nve'>): Promise<void> {
    await this.redis.multi().del(this.k.session(s.callId)).srem(this.k.sessionsOfNve(s.nve), s.callId).srem(this.k.sessionIndex, s.callId).exec();
  }

  async ofNve(nve: string): Promise<string[]> {
    return (await this.redis.smembers(this.k.sessionsOfNve(nve))).sort();
  }

  async list(): Promise<Session[]> {
    const ids = (await this.redis.smembers(this.k.sessionIndex)).sort();
    const out: Session[] = [];
    for (const id of ids) {
      const s = await this.get(id);
      if (s) out.push(s);
    }
    return out;
  }
}
