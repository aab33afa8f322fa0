// `nvo lab status`: each element of the lab and whether it is up — namespaces, every recorded
// process (alive by PID and start time, and listening where it should), and what each lab device
// applier last applied.
import { existsSync, readFileSync } from 'node:fs';
import type { ApplierStatus } from './device-applier.ts';
import { checkNetwork, networkPlan } from './network.ts';
import { canConnect, isAlive, type Supervisor } from './supervisor.ts';
import type { Topology } from './topology.ts';

export interface StatusRow {
  element: string;
  up: boolean;
  detail: string;
}

export async function labStatus(sup: Supervisor, t: Topology): Promise<StatusRow[]> {
  const state = sup.read();
  const rows: StatusRow[] = [];
  const plan = networkPlan(t);
  const net = await checkNetwork(plan);
  rows.push({
    element: 'namespaces and links',
    up: net.missing.length === 0,
    detail: net.missing.length === 0 ? `${plan.namespaces.length} namespaces` : `${net.present.length}/${plan.namespaces.length} namespaces; missing ${net.missing.slice(0, 4).join(', ')}${net.missing.length > 4 ? ' …' : ''}`,
  });
  const expected = ['netconf', 'prosody', ...t.devices.map((d) => (t.inv.devices.find((x) => x.id === d)!.driver === 'netconf' ? `applier-${d}` : `gateway-${d}`))];
  const names = [...new Set([...expected, ...Object.keys(state?.processes ?? {})])];
  for (const name of names) {
    const rec = state?.processes[name];
    if (!rec) {
      rows.push({ element: name, up: false, detail: 'not started' });
      continue;
    }
    const alive = isAlive(rec);
    const ports = rec.ports ?? [];
    const listening = alive ? await Promise.all(ports.map((p) => canConnect(p))) : ports.map(() => false);
    let detail = `pid ${rec.pid}${alive ? '' : ' (gone)'}${ports.length ? `, 127.0.0.1:${ports.map((p, i) => `${p}${listening[i] ? '' : ' (closed)'}`).join(',')}` : ''}`;
    const ready = sup.readyFile(name);
    if (alive && name.startsWith('applier-') && existsSync(ready)) {
      const s = JSON.parse(readFileSync(ready, 'utf8')) as ApplierStatus;
      detail += `, ${Object.entries(s.entries).map(([k, n]) => `${n} ${k}`).join(' ')} at ${s.appliedAt.slice(11, 19)}`;
    }
    if (alive && name.startsWith('gateway-') && existsSync(ready)) {
      const s = JSON.parse(readFileSync(ready, 'utf8')) as { status: string; revision: number };
      detail += `, ${s.status}, revision ${s.revision}`;
    }
    rows.push({ element: name, up: alive && listening.every(Boolean), detail });
  }
  return rows;
}
