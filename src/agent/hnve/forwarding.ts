// What the hNVE's data plane should hold, computed from its sessions and their VNIs' tables alone:
// per VNI a segment (the VLAN the INVITE answer named) and a VXLAN device, a flood entry per remote
// member VTEP (the other hNVEs, the joining VTEPs of a move, and the gateways: head-end replication
// of BUM traffic, RFC 7348 §4.2), a static entry per remote MAC, and each local VM's port in its
// VNI's segment. Local MACs are not programmed: the bridge learns them on the VM's port.
import { emptyConfig, ENTRY_KINDS, entryKey, type DeviceChange, type DeviceConfig } from '../../model/device-config.ts';
import type { PortEntry } from '../../dataplane/hnve.ts';
import type { VniTable } from './vni-table.ts';

export interface AgentSession {
  callId: string;
  cid: string;
  mac: string;
  /** MACs INFO added for this VM. */
  macs: string[];
  ip?: string;
  answer: Record<string, unknown>;
  /** Taken over by a REFER still under way: configured here, owned by the old hNVE until the switch. */
  pending?: string;
}

export interface Forwarding {
  config: DeviceConfig;
  ports: PortEntry[];
}

function gatewayVteps(answer: Record<string, unknown>): string[] {
  const g = answer.gateways as Record<string, { vtep?: unknown }> | undefined;
  return Object.values(g ?? {})
    .map((x) => x?.vtep)
    .filter((v): v is string => typeof v === 'string');
}

export function forwarding(o: { vtep: string; sessions: readonly AgentSession[]; tables: ReadonlyMap<string, VniTable>; ports: ReadonlyMap<string, string> }): Forwarding {
  const c = emptyConfig();
  const ports: PortEntry[] = [];
  const local = new Set(o.sessions.flatMap((s) => [s.mac, ...s.macs]));
  for (const cid of [...new Set(o.sessions.map((s) => s.cid))].sort()) {
    const mine = o.sessions.filter((s) => s.cid === cid);
    const a = mine[0]!.answer;
    const vni = Number(a.vni);
    const vlan = Number(a.vlan);
    c.vlans.push({ id: vlan, name: cid.slice(0, 32) });
    c.vnis.push({ vni, vlan, encapsulation: String(a.encapsulation ?? 'vxlan') });
    const t = o.tables.get(cid);
    const remote = new Set<string>(gatewayVteps(a));
    for (const [mac, vtep] of t?.rows ?? []) {
      if (vtep === o.vtep || local.has(mac)) continue;
      remote.add(vtep);
      c.macs.push({ vni, mac, vtep });
    }
    for (const v of t?.floods ?? []) remote.add(v);
    remote.delete(o.vtep);
    for (const vtep of remote) c.floods.push({ vni, vtep });
    for (const s of mine) {
      const port = o.ports.get(s.mac);
      if (port) ports.push({ port, vni });
    }
  }
  // Not normalized (sorted): quickDiff compares by key, and the data plane keeps its own order.
  return { config: c, ports: ports.sort((a, b) => (a.port < b.port ? -1 : 1)) };
}

/** diffConfig's result for configs this agent built (entries with keys in one order), without its
 *  key-sorting stable JSON: at 500 MACs per VNI that sort was most of a NOTIFY's cost. An entry whose
 *  keys came in another order is merely merged again, which every data plane takes as a no-op. */
export function quickDiff(from: DeviceConfig, to: DeviceConfig): DeviceChange {
  const change: DeviceChange = { merge: emptyConfig(), remove: emptyConfig() };
  for (const kind of ENTRY_KINDS) {
    const key = entryKey[kind] as (e: unknown) => string;
    const before = new Map((from[kind] as unknown[]).map((e) => [key(e), JSON.stringify(e)]));
    const after = new Set<string>();
    for (const e of to[kind] as unknown[]) {
      const k = key(e);
      after.add(k);
      if (before.get(k) !== JSON.stringify(e)) (change.merge[kind] as unknown[]).push(e);
    }
    for (const e of from[kind] as unknown[]) if (!after.has(key(e))) (change.remove[kind] as unknown[]).push(e);
  }
  return change;
}
