// The data plane on a Linux host: a DeviceConfig becomes bridges, VXLAN devices and fdb entries in
// one network namespace. Each operation reads the kernel, validates the whole target before the first
// command (a refused change touches nothing), plans the difference and runs it, then reads back to
// check. Operations on one instance run one at a time, so two pushes never plan on the same snapshot.
import { isIP } from 'node:net';
import { invalid, NvoError, notFound } from '../../errors.ts';
import { diffConfig, normalizeConfig, stableJson, type DeviceChange, type DeviceConfig } from '../../model/device-config.ts';
import type { DataPlaneContext } from '../data-plane.ts';
import type { HnveDataPlane, PortEntry } from '../hnve.ts';
import { detectCapabilities, type Capabilities } from './capabilities.ts';
import { CommandRunner, type Command } from './command-runner.ts';
import { configOf, readKernel, type KernelState } from './kernel-state.ts';
import { bridgeName, checkIfName, decodeMark } from './names.ts';
import { nameConflicts, plan, type PlanSettings } from './plan.ts';
import { validateChange, validateConfig } from './validate.ts';

export interface LinuxDataPlaneOptions {
  /** Network namespace to work in (`ip -n`); unset = the caller's own namespace. */
  netns?: string;
  /** This host's VTEP address: the VXLAN source. */
  localVtep: string;
  underlayDev?: string;
  /** RFC 7348 §5: IANA assigned 4789 to VXLAN. */
  dstPort?: number;
  /** A trunk device for VLAN sub-interfaces (needs 802.1Q in the kernel). */
  trunk?: string;
  runner?: CommandRunner;
}

export class LinuxDataPlane implements HnveDataPlane {
  readonly runner: CommandRunner;
  private readonly opts: LinuxDataPlaneOptions;
  private caps: Promise<Capabilities> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: LinuxDataPlaneOptions) {
    if (isIP(opts.localVtep) === 0) throw invalid('localVtep', `'${opts.localVtep}' is not an IP address`);
    if (opts.underlayDev !== undefined) checkIfName(opts.underlayDev, 'underlayDev');
    if (opts.trunk !== undefined) checkIfName(opts.trunk, 'trunk');
    if (opts.dstPort !== undefined && !(Number.isInteger(opts.dstPort) && opts.dstPort >= 1 && opts.dstPort <= 65535)) throw invalid('dstPort', 'must be 1..65535');
    this.opts = opts;
    this.runner = opts.runner ?? new CommandRunner(opts.netns);
  }

  capabilities(): Promise<Capabilities> {
    this.caps ??= detectCapabilities(this.runner, this.opts.trunk);
    return this.caps;
  }

  apply(change: DeviceChange, _ctx?: DataPlaneContext): Promise<void> {
    return this.serial(async () => {
      const state = await readKernel(this.runner);
      const target = validateChange(configOf(state), change, this.opts);
      await this.converge(target, state, false);
    });
  }

  read(): Promise<DeviceConfig> {
    return this.serial(async () => configOf(await readKernel(this.runner)));
  }

  reconcile(config: DeviceConfig, _ctx?: DataPlaneContext): Promise<DeviceChange> {
    return this.serial(async () => {
      const target = validateConfig(config, this.opts);
      const state = await readKernel(this.runner);
      const before = configOf(state);
      await this.converge(target, state, true);
      return diffConfig(before, target);
    });
  }

  attachPort(entry: PortEntry): Promise<void> {
    return this.serial(async () => {
      const port = checkIfName(entry.port, 'port');
      const state = await readKernel(this.runner);
      const vni = state.vnis.get(entry.vni);
      if (!vni) throw invalid('vni', `VNI ${String(entry.vni)} is not configured`);
      const link = state.links.get(port);
      if (!link) throw notFound('port', port);
      if (decodeMark(link.ifalias)) throw invalid('port', `${port} is an nvo device, not a VM port`);
      const segment = bridgeName(vni.mark.vlan);
      const cmds: Command[] = [];
      if (link.master !== segment) cmds.push({ tool: 'ip', args: ['link', 'set', 'dev', port, 'master', segment] });
      if (!link.flags?.includes('UP')) cmds.push({ tool: 'ip', args: ['link', 'set', 'dev', port, 'up'] });
      for (const c of cmds) await this.runner.run(c);
    });
  }

  detachPort(port: string): Promise<void> {
    return this.serial(async () => {
      checkIfName(port, 'port');
      const state = await readKernel(this.runner);
      if (state.ports.has(port)) await this.runner.run({ tool: 'ip', args: ['link', 'set', 'dev', port, 'nomaster'] });
    });
  }

  readPorts(): Promise<PortEntry[]> {
    return this.serial(async () => portsOf(await readKernel(this.runner)));
  }

  private async converge(target: DeviceConfig, state: KernelState, prune: boolean): Promise<void> {
    const caps = await this.capabilities();
    if (this.opts.trunk && !caps.vlan8021q) {
      throw invalid('trunk', 'this kernel has no 802.1Q VLAN devices; leave trunk unset and each VLAN segment is a bridge of its own');
    }
    const settings: PlanSettings = {
      localVtep: this.opts.localVtep,
      underlayDev: this.opts.underlayDev,
      dstPort: this.opts.dstPort ?? 4789,
      trunk: this.opts.trunk,
      kernelVrf: caps.vrf,
    };
    const taken = nameConflicts(target, state, settings);
    if (taken.length) {
      throw new NvoError('conflict', `device name${taken.length > 1 ? 's' : ''} ${taken.join(', ')} taken by devices nvo did not make; nvo leaves them alone`, [], { devices: taken });
    }
    await this.execute(plan(target, state, settings, { prune }));
    // Read back: the kernel accepted every command, but say so only if it now holds the target.
    const after = configOf(await readKernel(this.runner));
    if (stableJson(after) !== stableJson(normalizeConfig(target))) {
      const drift = diffConfig(target, after);
      throw new NvoError('device-error', 'the kernel does not hold the configuration after the change', [], { drift });
    }
  }

  // fdb commands come last in a plan and are the bulk of it (one per remote MAC): one batch process.
  private async execute(cmds: Command[]): Promise<void> {
    let fdb: string[][] = [];
    for (const c of cmds) {
      if (c.tool === 'bridge' && c.args[0] === 'fdb') {
        fdb.push(c.args);
        continue;
      }
      await this.runner.batch('bridge', fdb);
      fdb = [];
      await this.runner.run(c);
    }
    await this.runner.batch('bridge', fdb);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function portsOf(s: KernelState): PortEntry[] {
  const vniOfBridge = new Map([...s.vnis.values()].map((o) => [bridgeName(o.mark.vlan), o.mark.vni]));
  const out: PortEntry[] = [];
  for (const [port, master] of s.ports) {
    const vni = vniOfBridge.get(master);
    if (vni !== undefined) out.push({ port, vni });
  }
  return out.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
}
