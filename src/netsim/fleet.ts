// N simulated devices in one process, on 127.0.0.1 ports base..base+N-1, and the faults and
// settings the control channel changes at run time.
import { NvoError, invalid } from '../errors.ts';
import type { Framing } from '../drivers/netconf/framing.ts';
import { DEFAULT_REFUSAL, Device } from './device.ts';
import type { RpcErrorSpec } from './device-error.ts';
import { listenDevice, type DeviceListener } from './ssh-server.ts';

export interface FleetOptions {
  devices: number;
  basePort: number;
  host?: string;
  commitDelayMs?: number;
  protocols?: Framing[];
  checks?: boolean;
  username?: string;
  password?: string;
}

export type Fault =
  | { kind: 'refuse-commit'; count?: number; error?: Partial<RpcErrorSpec> }
  | { kind: 'drop-session'; count?: number }
  // answers the next RPC with a chunk header RFC 6242 §4.2 forbids: tests that the client ends the session
  | { kind: 'bad-chunk'; count?: number }
  | { kind: 'clear' };

export interface DeviceStatus {
  port: number;
  hostKey: string;
  sessions: number[];
  locks: { running: number | null; candidate: number | null };
  candidateDirty: boolean;
  confirmedCommit: null | { sessionId: number | null; persist: boolean; secondsLeft: number };
  commitDelayMs: number;
  checks: boolean;
  faults: { refuseCommit: number; dropSession: number; badChunk: number };
  stats: Device['stats'];
}

export class Fleet {
  private constructor(
    readonly host: string,
    readonly username: string,
    readonly password: string,
    readonly protocols: Framing[],
    private members: { device: Device; listener: DeviceListener }[],
  ) {}

  static async start(o: FleetOptions): Promise<Fleet> {
    if (!Number.isInteger(o.devices) || o.devices < 1 || o.devices > 10_000) throw invalid('devices', `must be a whole number 1..10000, got ${o.devices}`);
    if (!Number.isInteger(o.basePort) || o.basePort < 1 || o.basePort + o.devices - 1 > 65535) throw invalid('basePort', `ports ${o.basePort}..${o.basePort + o.devices - 1} are not all in 1..65535`);
    const delay = o.commitDelayMs ?? 0;
    if (!Number.isInteger(delay) || delay < 0) throw invalid('commitDelayMs', `must be a whole number of milliseconds >= 0, got ${delay}`);
    const protocols = o.protocols ?? ['1.0', '1.1'];
    if (!protocols.length) throw invalid('protocols', 'at least one of base:1.0, base:1.1');
    const host = o.host ?? '127.0.0.1';
    const username = o.username ?? 'admin';
    const password = o.password ?? 'admin';
    const members: { device: Device; listener: DeviceListener }[] = [];
    try {
      for (let i = 0; i < o.devices; i++) {
        const device = new Device(o.basePort + i, { commitDelayMs: delay, checks: o.checks ?? true });
        const listener = await listenDevice(device, { host, username, password, protocols }).catch((err: NodeJS.ErrnoException) => {
          throw new NvoError('conflict', `netsim: cannot listen on ${host}:${device.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`, [{ field: 'basePort', reason: `port ${device.port} unavailable` }]);
        });
        members.push({ device, listener });
      }
    } catch (err) {
      await Promise.all(members.map((m) => m.listener.close()));
      throw err;
    }
    return new Fleet(host, username, password, protocols, members);
  }

  get ports(): number[] {
    return this.members.map((m) => m.device.port);
  }

  device(port: number): Device {
    const m = this.members.find((x) => x.device.port === port);
    if (!m) throw new NvoError('not-found', `netsim has no device on port ${port} (ports ${this.ports[0]}..${this.ports.at(-1)})`, [{ field: 'device', reason: 'no such port' }]);
    return m.device;
  }

  private targets(which: number | 'all'): Device[] {
    return which === 'all' ? this.members.map((m) => m.device) : [this.device(which)];
  }

  inject(which: number | 'all', fault: Fault): void {
    for (const d of this.targets(which)) {
      if (fault.kind === 'clear') {
        d.faults.refuseCommit.length = 0;
        d.faults.dropSession = 0;
        d.faults.badChunk = 0;
      } else if (fault.kind === 'bad-chunk') d.faults.badChunk += fault.count ?? 1;
      else if (fault.kind === 'drop-session') d.faults.dropSession += fault.count ?? 1;
      else for (let i = 0; i < (fault.count ?? 1); i++) d.faults.refuseCommit.push({ ...DEFAULT_REFUSAL, ...fault.error });
    }
  }

  configure(which: number | 'all', s: { commitDelayMs?: number; checks?: boolean }): void {
    for (const d of this.targets(which)) {
      if (s.commitDelayMs !== undefined) d.settings.commitDelayMs = s.commitDelayMs;
      if (s.checks !== undefined) d.settings.checks = s.checks;
    }
  }

  status(): DeviceStatus[] {
    return this.members.map(({ device: d, listener }) => ({
      port: d.port,
      hostKey: listener.hostKey,
      sessions: [...d.sessions.keys()],
      locks: { ...d.locks },
      candidateDirty: d.candidateDirtyBy !== null,
      confirmedCommit: d.confirmed ? { sessionId: d.confirmed.sessionId, persist: d.confirmed.persist !== undefined, secondsLeft: Math.max(0, Math.round((d.confirmed.deadline - Date.now()) / 1000)) } : null,
      commitDelayMs: d.settings.commitDelayMs,
      checks: d.settings.checks,
      faults: { refuseCommit: d.faults.refuseCommit.length, dropSession: d.faults.dropSession, badChunk: d.faults.badChunk },
      stats: { ...d.stats },
    }));
  }

  hostKey(port: number): string {
    return this.members.find((m) => m.device.port === port)?.listener.hostKey ?? '';
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.listener.close()));
  }
}
