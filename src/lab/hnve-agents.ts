// The hypervisors' hNVE agents (`nvo agent`), one process each, driving the Linux data plane in the
// hypervisor's namespace. They REGISTER with the lab's tenant proxy (use case 3) and know their VMs
// (MAC, tenant, address, port) without INVITEing them: VM provisioning is the demo's first act.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { NvoError } from '../errors.ts';
import type { NetworkPlan } from './network.ts';
import type { ProxyData } from './proxies.ts';
import { isAlive, logTail, type LabState, type ProcRecord, type Supervisor } from './supervisor.ts';
import type { Topology } from './topology.ts';

export async function startHnveAgents(sup: Supervisor, state: LabState, t: Topology, plan: NetworkPlan, commands: Set<string>, rebuilt: boolean): Promise<string> {
  const url = (state.data.proxies as ProxyData | undefined)?.tenantProxy?.url;
  if (!commands.has('agent')) return 'not available yet (no nvo agent command)';
  if (!url) return 'not started: no tenant proxy';
  const secrets = state.data.hnves as Record<string, { secret: string }>;
  const started: string[] = [];
  await Promise.all(
    t.hypervisors.map(async (h) => {
      const name = `agent-${h.id}`;
      const file = join(sup.dir, 'run', `${name}.yaml`);
      const cfg = {
        nve: h.id,
        secretFile: join(sup.dir, 'run', `${name}.secret`),
        proxies: [url],
        dataPlane: { kind: 'linux', vtep: h.vtep, netns: plan.nodeNs[h.id] },
        // The demo (and `nvo agent ctl`) drive the running agent through it: INVITE, INFO, BYE, state.
        control: agentSocket(sup.dir, h.id),
        vms: plan.vmPorts.filter((v) => v.hypervisor === h.id).map((v) => ({ mac: v.mac, cid: v.cid, ip: v.address.split('/')[0], port: v.port, invite: false })),
      };
      const text = stringify(cfg);
      const rec = state.processes[name];
      if (rec && isAlive(rec) && !rebuilt && readOr(file) === text) return;
      if (rec) await sup.stop(state, name);
      mkdirSync(join(sup.dir, 'run'), { recursive: true });
      writeFileSync(cfg.secretFile, `${secrets[h.id]!.secret}\n`, { mode: 0o600 });
      writeFileSync(file, text, { mode: 0o600 });
      // The log is appended to: only what this process writes counts as its registration.
      const from = readOr(sup.logFile(name)).length;
      const r = sup.spawnNvo(state, name, ['agent', '--config', file]);
      await waitRegistered(r, name, from);
      started.push(h.id);
    }),
  );
  return started.length ? `${started.join(', ')} registered at ${url}` : `${t.hypervisors.length} already running`;
}

/** The control socket of hypervisor `hv`'s agent in a lab whose state dir is `dir`. */
export const agentSocket = (dir: string, hv: string) => join(dir, 'run', `agent-${hv}.sock`);

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function waitRegistered(r: ProcRecord, name: string, from: number, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (/registered at /.test(readOr(r.log!).slice(from))) return;
    if (!isAlive(r)) throw new NvoError('unavailable', `${name} exited at start: ${logTail(r.log)}`);
    if (Date.now() > end) throw new NvoError('timeout', `${name} did not register within ${ms / 1000} s: ${logTail(r.log)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
