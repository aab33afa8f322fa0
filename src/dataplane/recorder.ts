// The data plane for tests and demos without root: keeps the configuration in memory and a history of
// every operation, so a test can count what reached the node (each revision once, in order).
import { applyChange, diffConfig, emptyConfig, isEmptyChange, normalizeConfig, type DeviceChange, type DeviceConfig } from '../model/device-config.ts';
import type { DataPlane, DataPlaneContext } from './data-plane.ts';

export interface RecordedOp {
  seq: number;
  op: 'apply' | 'reconcile';
  revision: number | undefined;
  /** For reconcile: the change that was needed to reach the target. */
  change: DeviceChange;
  at: Date;
}

export class RecorderDataPlane implements DataPlane {
  readonly history: RecordedOp[] = [];
  private config: DeviceConfig = emptyConfig();
  /** When set, the next operation fails with this message (and changes nothing): a device fault in tests. */
  failNext: string | null = null;

  constructor(initial?: DeviceConfig) {
    if (initial) this.config = normalizeConfig(initial);
  }

  private check(): void {
    if (this.failNext === null) return;
    const msg = this.failNext;
    this.failNext = null;
    throw new Error(msg);
  }

  async apply(change: DeviceChange, ctx: DataPlaneContext = {}): Promise<void> {
    this.check();
    this.config = applyChange(this.config, change);
    this.history.push({ seq: this.history.length + 1, op: 'apply', revision: ctx.revision, change, at: new Date() });
  }

  async read(): Promise<DeviceConfig> {
    return structuredClone(this.config);
  }

  async reconcile(config: DeviceConfig, ctx: DataPlaneContext = {}): Promise<DeviceChange> {
    this.check();
    const change = diffConfig(this.config, config);
    this.config = normalizeConfig(config);
    this.history.push({ seq: this.history.length + 1, op: 'reconcile', revision: ctx.revision, change, at: new Date() });
    return change;
  }

  /** The history without operations that changed nothing. */
  effective(): RecordedOp[] {
    return this.history.filter((h) => !isEmptyChange(h.change));
  }
}
