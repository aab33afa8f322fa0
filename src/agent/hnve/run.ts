// `nvo agent`: build the data plane the config names, start the agent, INVITE the configured VMs the
// proxy does not already have a session for, open the control socket if the file names one, and run
// until SIGINT/SIGTERM.
import type { HnveDataPlane } from '../../dataplane/hnve.ts';
import { RecorderDataPlane } from '../../dataplane/recorder.ts';
import type { AgentConfig } from './config.ts';
import { serveControl } from './control.ts';
import { HnveAgent } from './hnve-agent.ts';

/** The configured data plane; a Linux one without a VTEP in the file takes the one REGISTER names. */
export async function dataPlaneOf(c: AgentConfig): Promise<HnveDataPlane | ((vtep: string) => HnveDataPlane)> {
  const d = c.dataPlane;
  if (d.kind === 'recorder') return new RecorderDataPlane(undefined, { references: true });
  const { LinuxDataPlane } = await import('../../dataplane/linux/linux-data-plane.ts');
  const make = (vtep: string) => new LinuxDataPlane({ localVtep: vtep, netns: d.netns, underlayDev: d.underlay, dstPort: d.dstPort });
  return d.vtep ? make(d.vtep) : make;
}

export async function runHnveAgent(c: AgentConfig & { secretValue: string }, o: { log?: (line: string) => void; signals?: NodeJS.Signals[]; dataPlane?: HnveDataPlane } = {}): Promise<HnveAgent> {
  const log = o.log ?? ((l: string) => console.error(l));
  const ports = new Map(c.vms.filter((v) => v.port).map((v) => [v.mac, v.port!]));
  const agent = new HnveAgent({ nve: c.nve, secret: c.secretValue, urls: c.proxies, proxy: c.proxyId, expires: c.expires, dataPlane: o.dataPlane ?? (await dataPlaneOf(c)), ports });
  const say = (s: string) => log(`agent ${c.nve}: ${s}`);
  agent.on('ready', (r: { url: string }) => say(`registered at ${r.url}, ${agent.sessions.size} session(s), VTEP ${agent.vtep}`));
  agent.on('disconnected', () => say('disconnected; reconnecting'));
  agent.on('connect-failed', (f: { url: string; error: string }) => say(`${f.url}: ${f.error}`));
  agent.on('mac-table', (m: { cid: string; revision: number }) => say(`${m.cid} MAC table at revision ${m.revision}`));
  agent.on('refused', (r: { event: string; status: number; reason: string }) => say(`refused ${r.event}: ${r.status} ${r.reason}`));
  agent.on('refer', (r: { sipfrag: string }) => say(`move: ${r.sipfrag}`));
  // Open before REGISTER: a command that comes too early is answered 408 (not connected), not refused at the socket.
  const control = c.control ? await serveControl(agent, c.control, c.vms, ports) : null;
  if (control) say(`control socket ${c.control}`);
  // A hypervisor may come up before its proxies: keep trying (the agent itself tries every URL).
  for (;;) {
    try {
      await agent.start();
      break;
    } catch (e) {
      say(`${(e as Error).message}; trying again in 2 s`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  for (const vm of c.vms.filter((v) => v.invite)) {
    if ([...agent.sessions.values()].some((s) => s.mac === vm.mac && s.cid === vm.cid)) continue;
    const r = await agent.invite(vm);
    say(`INVITE ${vm.mac} in ${vm.cid}: ${r.status} ${r.reason}`);
  }
  for (const sig of o.signals ?? ['SIGINT', 'SIGTERM'])
    process.once(sig, () => {
      control?.close();
      void agent.stop().then(() => process.exit(0));
    });
  return agent;
}
