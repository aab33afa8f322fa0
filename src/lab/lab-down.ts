// `nvo lab down`: stops every process the lab recorded (newest first), then any process that still
// names the state dir, deletes the lab's namespaces (with their links) and the state dir. It works
// from the state file alone when the topology is gone, and from the topology alone when the state
// file is; the inventory stays in Redis (it is nvo's data, not the lab's machinery).
import { rmSync } from 'node:fs';
import { networkPlan, removeNamespaces } from './network.ts';
import { killPids, stopProcess, type Supervisor } from './supervisor.ts';
import type { Topology } from './topology.ts';

export interface DownResult {
  processes: number;
  strays: number;
  namespaces: string[];
}

export async function labDown(sup: Supervisor, topology: Topology | null, progress: (line: string) => void): Promise<DownResult> {
  const state = sup.read();
  const recs = Object.entries(state?.processes ?? {}).reverse();
  for (const [, rec] of recs) await stopProcess(rec);
  progress(`${'processes'.padEnd(28)} ${recs.length} stopped`);
  const strays = sup.strays();
  await killPids(strays);
  if (strays.length) progress(`${'leftovers'.padEnd(28)} ${strays.length} stopped`);
  const names = new Set([...(state?.namespaces ?? []), ...(topology ? networkPlan(topology).namespaces.map((n) => n.name) : [])]);
  const removed = await removeNamespaces(names);
  progress(`${'namespaces and links'.padEnd(28)} ${removed.length} removed`);
  rmSync(sup.netconfDir, { recursive: true, force: true });
  rmSync(sup.dir, { recursive: true, force: true });
  progress(`${'state'.padEnd(28)} ${sup.dir} removed`);
  return { processes: recs.length, strays: strays.length, namespaces: removed };
}
