// The lab's namespaces and links, derived from the topology alone (so `up`, `down` and `status`
// find the same names after any crash): a routed underlay core with one /30 per node and each
// node's VTEP as a /32 on its loopback; VMs on veths into their hypervisor (not in a segment until
// their hNVE attaches them); a legacy host on an access port of its gateway; a WAN host on a routed
// link. Commands go to iproute2 as argv, never through a shell.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NvoError } from '../errors.ts';
import { bigIntToIp, parseCidr, type Cidr } from '../model/net.ts';
import type { Topology } from './topology.ts';

const run = promisify(execFile);

export interface NsPlan {
  name: string;
  role: 'core' | 'device' | 'hypervisor' | 'vm' | 'host';
  /** Interfaces that must exist (and be up) in it once built. */
  ifaces: string[];
}

export interface VmPort {
  vm: string;
  hypervisor: string;
  netns: string;
  /** The hypervisor-side end of the VM's veth, for the hNVE to attach to a segment. */
  port: string;
  mac: string;
  address: string;
  cid: string;
}

export interface NetworkPlan {
  namespaces: NsPlan[];
  /** `ip` argument lists (after `ip`), in order; sysctl steps are `['netns', 'exec', ns, 'sysctl', ...]`. */
  commands: string[][];
  nodeNs: Record<string, string>;
  vmPorts: VmPort[];
  /** Legacy and WAN host attachments, for the device appliers. */
  attachments: { device: string; port: string; host: string; vni?: number; vrf?: string }[];
}

export const nsName = (t: Pick<Topology, 'name'>, id: string): string => `${t.name}-${id}`;
const MTU_OVERLAY = '1450'; // lab-facts: VM veths need 1450 over a 1500 underlay (VXLAN adds 50 bytes)

export function networkPlan(t: Topology): NetworkPlan {
  const core = nsName(t, 'core');
  const namespaces: NsPlan[] = [{ name: core, role: 'core', ifaces: [] }];
  const cmds: string[][] = [];
  const nodeNs: Record<string, string> = {};
  const vmPorts: VmPort[] = [];
  const attachments: NetworkPlan['attachments'] = [];
  const links = parseCidr(t.underlay.links) as Cidr;
  const ipn = (ns: string, ...args: string[]) => cmds.push(['-n', ns, ...args]);
  const forward = (ns: string) => cmds.push(['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  const nodes = [
    ...t.devices.map((id) => ({ id, role: 'device' as const, vtep: t.inv.devices.find((d) => d.id === id)!.vtep })),
    ...t.hypervisors.map((h) => ({ id: h.id, role: 'hypervisor' as const, vtep: h.vtep })),
  ];
  const tenants = new Map(t.inv.tenants.map((x) => [x.cid, x]));

  forward(core);
  nodes.forEach((n, i) => {
    const ns = nsName(t, n.id);
    nodeNs[n.id] = ns;
    const coreSide = bigIntToIp(links.network + BigInt(4 * i + 1), 32);
    const nodeSide = bigIntToIp(links.network + BigInt(4 * i + 2), 32);
    const coreIf = `c-${n.id}`;
    namespaces[0]!.ifaces.push(coreIf);
    namespaces.push({ name: ns, role: n.role, ifaces: ['core0'] });
    ipn(core, 'link', 'add', coreIf, 'type', 'veth', 'peer', 'name', 'core0', 'netns', ns);
    ipn(core, 'address', 'add', `${coreSide}/30`, 'dev', coreIf);
    ipn(core, 'link', 'set', coreIf, 'up');
    ipn(core, 'route', 'add', `${n.vtep}/32`, 'via', nodeSide);
    ipn(ns, 'address', 'add', `${nodeSide}/30`, 'dev', 'core0');
    ipn(ns, 'link', 'set', 'core0', 'up');
    ipn(ns, 'address', 'add', `${n.vtep}/32`, 'dev', 'lo');
    ipn(ns, 'route', 'add', 'default', 'via', coreSide, 'src', n.vtep);
    // Devices route between tenant segments (IRB) and the WAN.
    if (n.role === 'device') forward(ns);
  });

  // A VM's address and MAC sit on a bridge inside it, with one isolated port per hypervisor link, so
  // a move can link it to a second hypervisor before the first link goes (make-before-break) without
  // the two links ever bridging the overlay to itself.
  for (const h of t.hypervisors) {
    for (const vm of h.vms) {
      const ns = nsName(t, vm.id);
      const port = vmPortName(vm.id);
      // Its links are not checked by `up`: a move (the demo's REFER) puts them on other hypervisors.
      namespaces.push({ name: ns, role: 'vm', ifaces: ['br0'] });
      ipn(ns, 'link', 'add', 'br0', 'type', 'bridge');
      ipn(ns, 'link', 'set', 'br0', 'address', vm.mac, 'mtu', MTU_OVERLAY, 'up');
      cmds.push(...vmLinkCommands(nodeNs[h.id]!, ns, vm.id, h.id));
      ipn(ns, 'address', 'add', vm.address, 'dev', 'br0');
      ipn(ns, 'route', 'add', 'default', 'via', tenants.get(vm.cid)!.gateway);
      vmPorts.push({ vm: vm.id, hypervisor: h.id, netns: ns, port, mac: vm.mac, address: vm.address, cid: vm.cid });
    }
  }

  for (const h of t.hosts) {
    const ns = nsName(t, h.id);
    const dev = nodeNs[h.behind]!;
    const port = `h-${h.id}`;
    namespaces.find((x) => x.name === dev)!.ifaces.push(port);
    namespaces.push({ name: ns, role: 'host', ifaces: ['eth0'] });
    if (h.vni !== undefined) {
      // An access port: layer 2 into the VNI's segment, so the overlay MTU.
      endpoint(ipn, dev, port, ns, h.mac, MTU_OVERLAY);
      ipn(ns, 'address', 'add', h.address, 'dev', 'eth0');
      ipn(ns, 'route', 'add', 'default', 'via', tenants.get(h.cid!)!.gateway);
      attachments.push({ device: h.behind, port, host: h.id, vni: h.vni });
    } else {
      endpoint(ipn, dev, port, ns, h.mac, '1500');
      ipn(dev, 'address', 'add', h.gateway!, 'dev', port);
      ipn(ns, 'address', 'add', h.address, 'dev', 'eth0');
      ipn(ns, 'route', 'add', 'default', 'via', h.gateway!.split('/')[0]!);
      attachments.push({ device: h.behind, port, host: h.id, vrf: h.vrf });
    }
  }
  return { namespaces, commands: cmds, nodeNs, vmPorts, attachments };
}

export const vmPortName = (vm: string): string => `vm-${vm}`;
export const vmLinkName = (hypervisor: string): string => `to-${hypervisor}`;

/** A veth from a hypervisor (`vm-<vm>`, for its hNVE to attach) to the VM's bridge (`to-<hv>`, isolated). */
export function vmLinkCommands(hvNs: string, vmNs: string, vm: string, hv: string): string[][] {
  const port = vmPortName(vm);
  const inner = vmLinkName(hv);
  return [
    ['-n', hvNs, 'link', 'add', port, 'mtu', MTU_OVERLAY, 'type', 'veth', 'peer', 'name', inner, 'netns', vmNs],
    ['-n', hvNs, 'link', 'set', port, 'up'],
    ['-n', vmNs, 'link', 'set', inner, 'mtu', MTU_OVERLAY, 'master', 'br0'],
    ['-n', vmNs, 'link', 'set', 'dev', inner, 'type', 'bridge_slave', 'isolated', 'on'],
    ['-n', vmNs, 'link', 'set', inner, 'up'],
  ];
}

/** Runs `ip` argument lists in order (lab plumbing outside nvo's data plane). */
export async function runIp(commands: string[][]): Promise<void> {
  for (const c of commands) await ip(c);
}

function endpoint(ipn: (ns: string, ...a: string[]) => void, outerNs: string, outer: string, innerNs: string, mac: string, mtu: string): void {
  ipn(outerNs, 'link', 'add', outer, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', innerNs);
  ipn(outerNs, 'link', 'set', outer, 'up');
  ipn(innerNs, 'link', 'set', 'eth0', 'address', mac, 'mtu', mtu, 'up');
}

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { timeout: 15_000, env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new NvoError('internal', `ip ${args.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
}

export async function listNetns(): Promise<Set<string>> {
  const out = await ip(['netns', 'list']);
  return new Set(out.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean));
}

/** Which of the plan's namespaces exist, and what is missing in them (empty: all there and up). */
export async function checkNetwork(p: NetworkPlan): Promise<{ present: string[]; missing: string[] }> {
  const have = await listNetns();
  const present: string[] = [];
  const missing: string[] = [];
  await Promise.all(
    p.namespaces.map(async (ns) => {
      if (!have.has(ns.name)) return missing.push(ns.name);
      present.push(ns.name);
      const links = JSON.parse((await ip(['-n', ns.name, '-j', 'link', 'show']).catch(() => '[]')) || '[]') as { ifname: string; flags?: string[] }[];
      const up = new Set(links.filter((l) => l.flags?.includes('UP')).map((l) => l.ifname));
      for (const i of ns.ifaces) if (!up.has(i)) missing.push(`${ns.name}/${i}`);
    }),
  );
  return { present: present.sort(), missing: missing.sort() };
}

export async function buildNetwork(p: NetworkPlan, onNamespace?: (ns: string) => void): Promise<void> {
  for (const ns of p.namespaces) {
    onNamespace?.(ns.name); // recorded before it exists: a crash right after still leaves a trace
    await ip(['netns', 'add', ns.name]);
    await ip(['-n', ns.name, 'link', 'set', 'lo', 'up']);
  }
  for (const c of p.commands) await ip(c);
}

/** Deletes the given namespaces (their veths go with them), after ending processes still inside. */
export async function removeNamespaces(names: Iterable<string>): Promise<string[]> {
  const have = await listNetns();
  const removed: string[] = [];
  for (const ns of names) {
    if (!have.has(ns)) continue;
    const pids = (await ip(['netns', 'pids', ns]).catch(() => '')).split('\n').filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await ip(['netns', 'del', ns]);
    removed.push(ns);
  }
  return removed;
}
