// What every step of the demo works with: the running lab, the store and the proxies' views on
// Redis, the narrator, the device reader, and where each VM's session lives now.
import { execFileSync } from 'node:child_process';
import type { ViewSources } from '../../proxy/views/sources.ts';
import type { InventoryStore } from '../../store/inventory-store.ts';
import type { LabHandle } from '../lab-handle.ts';
import type { VmPort } from '../network.ts';
import type { Narrator } from './narrator.ts';
import type { DeviceReader } from './observe.ts';

export interface DemoContext {
  lab: LabHandle;
  stateDir: string;
  store: InventoryStore;
  views: ViewSources;
  n: Narrator;
  devices: DeviceReader;
  /** VM id → the hypervisor whose agent holds its session (changes with the move). */
  at: Map<string, string>;
}

export const vms = (c: DemoContext): VmPort[] => c.lab.plan.vmPorts;
export const vmById = (c: DemoContext, id: string): VmPort => c.lab.vm(id);
export const ipOf = (address: string) => address.split('/')[0]!;
export const vtepOf = (c: DemoContext, hv: string) => c.lab.topology.hypervisors.find((h) => h.id === hv)!.vtep;
export const podOf = (c: DemoContext, hv: string) => c.lab.topology.hypervisors.find((h) => h.id === hv)!.pod;

/** The interfaces of a namespace by name. */
export function linksIn(ns: string): string[] {
  const out = execFileSync('ip', ['-n', ns, '-j', 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname);
}

/** Compact one-line summary of a vendor-neutral configuration, for narration. */
export function summarize(c: { vlans: { id: number }[]; vnis: { vni: number; vlan: number; encapsulation: string; mcastGroup?: string; vrf?: string }[]; vrfs: { name: string }[]; floods: { vni: number; vtep: string }[]; macs: unknown[]; irbs: { vlan: number; address: string }[] }): string {
  if (!c.vlans.length && !c.vnis.length && !c.vrfs.length && !c.macs.length) return 'nothing of nvo';
  const parts = [
    `VLAN ${c.vlans.map((v) => v.id).join(',') || '-'}`,
    ...c.vnis.map((v) => `VNI ${v.vni}→VLAN ${v.vlan} ${v.encapsulation}${v.vrf ? ` vrf ${v.vrf}` : ''}${v.mcastGroup ? ` group ${v.mcastGroup}` : ''}`),
    ...(c.irbs.length ? [`IRB ${c.irbs.map((i) => `${i.address}@${i.vlan}`).join(',')}`] : []),
    `tunnels→${[...new Set(c.floods.map((f) => f.vtep))].join(',') || '-'}`,
    `${c.macs.length} MAC entr${c.macs.length === 1 ? 'y' : 'ies'}`,
  ];
  return parts.join('; ');
}
