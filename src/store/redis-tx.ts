// Optimistic transactions: WATCH what you read, then MULTI/EXEC what you write; when another client
// touched a watched key in between, EXEC returns null and the whole body runs again on fresh data.
// WATCH belongs to a connection, so each transaction borrows a connection of its own from a small
// pool (sharing one would let concurrent transactions clear each other's watches).
import type { ChainableCommander, Redis } from 'ioredis';
import { NvoError } from '../errors.ts';

export interface Tx {
  /** The borrowed connection: read through it after watching. */
  conn: Redis;
  watch(...keys: string[]): Promise<void>;
}

export interface TxOutcome<T> {
  result: T;
  /** Queues the writes; absent when there is nothing to write (the watch is simply dropped). */
  write?: (multi: ChainableCommander) => void;
}

const MAX_ATTEMPTS = 200;

export class TxRunner {
  private readonly idle: Redis[] = [];
  private closed = false;

  constructor(
    private readonly base: Redis,
    private readonly maxIdle = 4,
  ) {}

  async run<T>(body: (tx: Tx) => Promise<TxOutcome<T>>): Promise<T> {
    const conn = this.idle.pop() ?? this.fresh();
    let healthy = true;
    try {
      for (let attempt = 1; ; attempt++) {
        const tx: Tx = { conn, watch: async (...keys) => void (keys.length && (await conn.watch(...keys))) };
        let outcome: TxOutcome<T>;
        try {
          outcome = await body(tx);
        } catch (e) {
          await conn.unwatch();
          throw e;
        }
        if (!outcome.write) {
          await conn.unwatch();
          return outcome.result;
        }
        const multi = conn.multi();
        outcome.write(multi);
        if ((await multi.exec()) !== null) return outcome.result;
        if (attempt >= MAX_ATTEMPTS) {
          throw new NvoError('unavailable', `the inventory kept changing under this write (${attempt} attempts); try again`);
        }
        // Back off a little, with jitter, so a crowd of writers does not collide in lockstep.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
    } catch (e) {
      if (!(e instanceof NvoError)) healthy = false;
      throw e;
    } finally {
      if (healthy && !this.closed && this.idle.length < this.maxIdle) this.idle.push(conn);
      else conn.disconnect();
    }
  }

  private fresh(): Redis {
    const conn = this.base.duplicate();
    conn.on('error', () => undefined); // reported through the failed command instead
    return conn;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  }
}
