// The data plane for tests and demos without root: keeps the configuration (and an hNVE's VM ports)
// in memory and a history of every operation, so a test can count what reached the node (each
// revision once, in order) and when each entry appeared or went. It refuses what a real data plane
// would refuse (check.ts) and then changes nothing, like the Linux one.
import { applyChange, diffConfig, emptyConfig, isEmptyChange, normalizeConfig, type DeviceChange, type DeviceConfig } from '../model/device-config.ts';
import { invalid, notFound } from '../errors.ts';
import { checkChange, checkConfig } from './check.ts';
import type { DataPlaneContext } from './data-plane.ts';
import type { HnveDataPlane, PortEntry } from './hnve.ts';

export interface RecordedOp {
  seq: number;
  op: 'apply' | 'reconcile' | 'attach' | 'detach';
  revision: number | undefined;
  /** For reconcile: the change that was needed to reach the target. Empty for port operations. */
  change: DeviceChange;
  port?: PortEntry;
  at: Date;
}

const noChange = (): DeviceChange => ({ merge: emptyConfig(), remove: emptyConfig() });

export class RecorderDataPlane implements HnveDataPlane {
  readonly history: RecordedOp[] = [];
  private config: DeviceConfig = emptyConfig();
  private readonly ports = new Map<string, number>();
  /** When set, the next operation fails with this message (and changes nothing): a device fault in tests. */
  failNext: string | null = null;
  /** Ports that exist on this "host" (VMs' veth ends); attaching another is an error, as on Linux. Unset: any. */
  knownPorts: Set<string> | null = null;

  // The gateway agent's tests push entries whose VNI another push brings; the hNVE agent's data
  // plane is whole, so it asks for the references to be checked too.
  constructor(
    initial?: DeviceConfig,
    private readonly o: { references?: boolean } = {},
  ) {
    if (initial) this.config = checkConfig(initial, { references: o.references ?? false });
  }

  private check(): void {
    if (this.failNext === null) return;
    const msg = this.failNext;
    this.failNext = null;
    throw new Error(msg);
  }

  private record(op: RecordedOp['op'], revision: number | undefined, change: DeviceChange, port?: PortEntry): void {
    this.history.push({ seq: this.history.length + 1, op, revision, change, ...(port ? { port } : {}), at: new Date() });
  }

  async apply(change: DeviceChange, ctx: DataPlaneContext = {}): Promise<void> {
    const target = checkChange(this.config, change, { references: this.o.references ?? false });
    this.check();
    this.config = target;
    this.record('apply', ctx.revision, change);
  }

  async read(): Promise<DeviceConfig> {
    return structuredClone(this.config);
  }

  async reconcile(config: DeviceConfig, ctx: DataPlaneContext = {}): Promise<DeviceChange> {
    const target = checkConfig(config, { references: this.o.references ?? false });
    this.check();
    const change = diffConfig(this.config, target);
    this.config = normalizeConfig(target);
    this.record('reconcile', ctx.revision, change);
    return change;
  }

  async attachPort(entry: PortEntry): Promise<void> {
    if (!this.config.vnis.some((v) => v.vni === entry.vni)) throw invalid('vni', `VNI ${String(entry.vni)} is not configured`);
    if (this.knownPorts && !this.knownPorts.has(entry.port)) throw notFound('port', entry.port);
    this.check();
    if (this.ports.get(entry.port) === entry.vni) return;
    this.ports.set(entry.port, entry.vni);
    this.record('attach', undefined, noChange(), { ...entry });
  }

  async detachPort(port: string): Promise<void> {
    const vni = this.ports.get(port);
    if (vni === undefined) return;
    this.check();
    this.ports.delete(port);
    this.record('detach', undefined, noChange(), { port, vni });
  }

  async readPorts(): Promise<PortEntry[]> {
    return [...this.ports].map(([port, vni]) => ({ port, vni })).sort((a, b) => (a.port < b.port ? -1 : 1));
  }

  /** The history without operations that changed nothing. */
  effective(): RecordedOp[] {
    return this.history.filter((h) => h.op === 'attach' || h.op === 'detach' || !isEmptyChange(h.change));
  }
}

// `applyChange` is re-exported for tests that replay a history.
export { applyChange };
