// A fenced per-device lock in Redis. BullMQ's job lock guards a *job*; this guards a *device*: after
// stalled-job recovery, or with two jobs of one device in flight, only the holder of the newest token
// may touch the device. Each grant takes the next value of the device's epoch counter, which also names
// the device's next waiting job (sync-queue.ts), so "a job started" and "new changes need a new job"
// are one atomic step.
import type { Redis } from 'ioredis';
import type { Keys } from '../store/keys.ts';
import { evalLua } from '../store/lua.ts';
import { LeaseLostError } from '../errors.ts';

// Input: KEYS[1] lock, KEYS[2] epoch; ARGV[1] ttl ms
// Output: the fence token (the new epoch), or 0 when another holder's lock is alive
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', tonumber(ARGV[1]))
return token
`;

// Input: KEYS[1] lock; ARGV[1] token, ARGV[2] ttl ms
// Output: 1 while the token still holds the lock (extended), 0 when it was lost
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
`;

// Input: KEYS[1] lock; ARGV[1] token. Output: 1 when released, 0 when the lock was no longer ours
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface DeviceLease {
  device: string;
  token: number;
  /** False once the lease was lost (expired while this process stalled, and taken by another). */
  readonly held: boolean;
  /** Throws when the lease was lost: call before anything that changes the device or its records. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export { LeaseLostError } from '../errors.ts';

export class DeviceLock {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly ttlMs = 15_000,
  ) {}

  /** The lease, kept alive every ttl/3 until released; null when another holder has the device. */
  async acquire(device: string): Promise<DeviceLease | null> {
    const lockKey = this.k.syncLock(device);
    const token = Number(await evalLua(this.redis, ACQUIRE, 2, lockKey, this.k.syncEpoch(device), this.ttlMs));
    if (!token) return null;
    let held = true;
    const extend = async () => {
      if (!held) return;
      const ok = Number(await evalLua(this.redis, EXTEND, 1, lockKey, token, this.ttlMs).catch(() => 1));
      if (!ok) held = false;
    };
    const timer = setInterval(() => void extend(), Math.max(100, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return {
      device,
      token,
      get held() {
        return held;
      },
      assertHeld: async () => {
        await extend();
        if (!held) throw new LeaseLostError(`the sync lock of ${device} (token ${token}) was taken over`);
      },
      release: async () => {
        clearInterval(timer);
        if (held) await evalLua(this.redis, RELEASE, 1, lockKey, token);
        held = false;
      },
    };
  }

  async epoch(device: string): Promise<number> {
    return Number((await this.redis.get(this.k.syncEpoch(device))) ?? 0);
  }
}
