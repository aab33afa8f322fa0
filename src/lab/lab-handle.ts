// What `nvo lab demo` (and tests) stand on: a running lab read from its state dir — namespaces, VM
// ports, logins, the tenant proxy's URL — and pings from inside its namespaces, including a ping
// stream that counts what a move loses.
import { spawn } from 'node:child_process';
import { NvoError } from '../errors.ts';
import type { XmppData } from './lab-up.ts';
import type { NetconfReady } from './netconf-host.ts';
import { networkPlan, nsName, runIp, vmLinkCommands, vmPortName, type NetworkPlan, type VmPort } from './network.ts';
import type { ProxyData } from './proxies.ts';
import { Supervisor, type LabState } from './supervisor.ts';
import { loadTopology, type Topology } from './topology.ts';

export interface PingResult {
  sent: number;
  received: number;
  lost: number;
}

export interface LabHandle {
  topology: Topology;
  state: LabState;
  plan: NetworkPlan;
  /** The namespace of a device, hypervisor, VM or host by its topology id. */
  netns(id: string): string;
  vm(id: string): VmPort;
  /** The secret hypervisor `id` authenticates its hNVE agent with (provisioned by `up`). */
  hnveSecret(id: string): string;
  tenantProxyUrl: string | undefined;
  xmpp: XmppData;
  netconf: NetconfReady;
  /** Links a VM to (another) hypervisor: the new port `vm-<vm>` there, for its hNVE to attach. Returns the port. */
  linkVm(vm: string, hypervisor: string): Promise<string>;
  /** Removes the VM's link to a hypervisor (the break of make-before-break). */
  unlinkVm(vm: string, hypervisor: string): Promise<void>;
  ping(fromId: string, to: string, o?: { count?: number; intervalS?: number; timeoutS?: number }): Promise<PingResult>;
  /** Pings every `intervalS` until stop(); then the counts (ping's own summary). */
  pingStream(fromId: string, to: string, intervalS?: number): { stop(): Promise<PingResult> };
}

export function openLab(o: { topologyFile: string; stateDir: string; name?: string }): LabHandle {
  const sup = new Supervisor(o.stateDir);
  const state = sup.read();
  if (!state) throw new NvoError('unavailable', `no lab at ${sup.dir}; run nvo lab up first`);
  const topology = loadTopology(o.topologyFile, o.name ?? state.name);
  const plan = networkPlan(topology);
  const known = new Set(plan.namespaces.map((n) => n.name));
  const netns = (id: string) => {
    const ns = nsName(topology, id);
    if (!known.has(ns)) throw new NvoError('not-found', `the lab has no node '${id}'`);
    return ns;
  };
  return {
    topology,
    state,
    plan,
    netns,
    vm(id) {
      const vm = plan.vmPorts.find((v) => v.vm === id);
      if (!vm) throw new NvoError('not-found', `the lab has no VM '${id}'`);
      return vm;
    },
    hnveSecret(id) {
      const s = (state.data.hnves as Record<string, { secret: string }> | undefined)?.[id]?.secret;
      if (!s) throw new NvoError('not-found', `hypervisor '${id}' has no secret; run nvo lab up`);
      return s;
    },
    tenantProxyUrl: (state.data.proxies as ProxyData | undefined)?.tenantProxy?.url,
    xmpp: state.data.xmpp as XmppData,
    netconf: state.data.netconf as NetconfReady,
    async linkVm(vm, hypervisor) {
      if (!topology.hypervisors.some((h) => h.id === hypervisor)) throw new NvoError('not-found', `the lab has no hypervisor '${hypervisor}'`);
      await runIp(vmLinkCommands(netns(hypervisor), this.vm(vm).netns, vm, hypervisor));
      return vmPortName(vm);
    },
    async unlinkVm(vm, hypervisor) {
      this.vm(vm);
      await runIp([['-n', netns(hypervisor), 'link', 'del', vmPortName(vm)]]);
    },
    async ping(fromId, to, p = {}) {
      const count = p.count ?? 3;
      return runPing(netns(fromId), to, ['-c', String(count), '-i', String(p.intervalS ?? 0.2), '-W', String(p.timeoutS ?? 2)]);
    },
    pingStream(fromId, to, intervalS = 0.05) {
      const child = spawn('ip', ['netns', 'exec', netns(fromId), 'ping', '-n', '-i', String(intervalS), '-W', '1', to], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The last request may still be in flight when the stream is stopped: it is not counted.
      const done = collect(child, true);
      return {
        async stop() {
          child.kill('SIGINT'); // ping prints its summary on SIGINT
          return done;
        },
      };
    },
  };
}

function runPing(ns: string, to: string, args: string[]): Promise<PingResult> {
  return collect(spawn('ip', ['netns', 'exec', ns, 'ping', '-n', ...args, to], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

function collect(child: ReturnType<typeof spawn>, dropInFlight = false): Promise<PingResult> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
      if (!m) return reject(new NvoError('internal', `ping gave no summary: ${out.trim().split('\n').slice(-2).join(' | ')}`));
      let sent = Number(m[1]);
      const seqs = new Set([...out.matchAll(/bytes from .*icmp_seq=(\d+)/g)].map((x) => Number(x[1])));
      if (dropInFlight && sent > 0 && !seqs.has(sent)) sent--;
      const received = [...seqs].filter((q) => q <= sent).length;
      resolve({ sent, received, lost: sent - received });
    });
  });
}
