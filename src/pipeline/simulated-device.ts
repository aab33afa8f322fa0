// A SIMULATED device for tests and benchmarks, not a driver for real equipment: its "running
// configuration" is a JSON value in Redis (so several worker processes share one device), a commit
// takes `commitMs`, and it answers like a NETCONF device would — a VLAN outside 1..4094 is refused with
// netconfd's own words for that case (lab-facts: error-tag invalid-value, "value not in range"), and
// injected faults are transient. It also proves the pipeline's promises from the device's side: it
// counts syncs in progress and records every overlap, and logs each commit's start and end.
import type { Redis } from 'ioredis';
import type { Device } from '../model/device.ts';
import { applyChange, emptyConfig, type DeviceConfig } from '../model/device-config.ts';
import { NvoError } from '../errors.ts';
import type { ApplyRequest, DeviceDriver } from './device-driver.ts';

export class SimulatedDeviceError extends NvoError {
  constructor(
    message: string,
    readonly transient: boolean,
    details: Record<string, unknown> = {},
  ) {
    super(transient ? 'unavailable' : 'device-error', message, [], { transient, ...details });
  }
}

export class SimulatedDevices implements DeviceDriver {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: { commitMs?: number } = {},
  ) {}

  private key(kind: string, device: string): string {
    return `${this.prefix}sim:${kind}:${device}`;
  }

  async apply(device: Device, req: ApplyRequest): Promise<{ committed: boolean }> {
    const id = device.id;
    const active = await this.redis.incr(this.key('active', id));
    const start = Date.now();
    try {
      if (active > 1) await this.redis.rpush(this.key('overlaps', id), `${start} ${process.pid}`);
      const faults = await this.redis.decr(this.key('faults', id));
      if (faults >= 0) throw new SimulatedDeviceError("connect ECONNREFUSED (injected fault)", true);
      for (const v of req.change.merge.vlans) {
        if (v.id < 1 || v.id > 4094) {
          throw new SimulatedDeviceError('value not in range', false, {
            errorTag: 'invalid-value',
            errorAppTag: 'not-in-range',
            errorPath: `/vlans/vlan[id='${v.id}']/id`,
            badValue: v.id,
          });
        }
      }
      if (this.opts.commitMs) await new Promise((r) => setTimeout(r, this.opts.commitMs));
      const running = await this.read(device);
      await this.redis.set(this.key('running', id), JSON.stringify(applyChange(running, req.change)));
      await this.redis.incr(this.key('commits', id));
      return { committed: true };
    } finally {
      await this.redis.decr(this.key('active', id));
      await this.redis.rpush(this.key('log', id), `${start} ${Date.now()} ${process.pid}`);
    }
  }

  async read(device: Device): Promise<DeviceConfig> {
    const raw = await this.redis.get(this.key('running', device.id));
    return raw ? (JSON.parse(raw) as DeviceConfig) : emptyConfig();
  }

  /** An out-of-band change on the device (an operator at the console), for drift tests. */
  async tamper(device: string, config: DeviceConfig): Promise<void> {
    await this.redis.set(this.key('running', device), JSON.stringify(config));
  }

  /** The next n applies fail transiently. */
  async injectFaults(device: string, n: number): Promise<void> {
    await this.redis.set(this.key('faults', device), n);
  }

  async commits(device: string): Promise<number> {
    return Number((await this.redis.get(this.key('commits', device))) ?? 0);
  }

  async overlaps(device: string): Promise<string[]> {
    return this.redis.lrange(this.key('overlaps', device), 0, -1);
  }

  /** Every apply as [start, end, pid]. */
  async history(device: string): Promise<[number, number, number][]> {
    const rows = await this.redis.lrange(this.key('log', device), 0, -1);
    return rows.map((r) => r.split(' ').map(Number) as [number, number, number]);
  }
}

/** An inventory record for a simulated device (the driver field picks the registry entry). */
export function simulatedDevice(id: string, driver: 'netconf' | 'xmpp' = 'netconf'): Device {
  return { id, role: 'tor', driver, vtep: '192.0.2.10', ngMvpn: false, encapsulations: ['vxlan'], vlanRanges: ['1-4094'] } as Device;
}
