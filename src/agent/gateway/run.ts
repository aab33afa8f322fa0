// `nvo gateway-agent`: the CLI parses the options and calls this; it runs until SIGINT/SIGTERM.
import { NvoError } from '../../errors.ts';
import { RecorderDataPlane } from '../../dataplane/recorder.ts';
import type { DataPlane } from '../../dataplane/data-plane.ts';
import type { GatewayAgentConfig } from './config.ts';
import { GatewayAgent } from './gateway-agent.ts';

/** The data plane the settings name; Linux is loaded only when asked for. */
export async function gatewayDataPlane(d: GatewayAgentConfig['dataPlane']): Promise<DataPlane> {
  if (d.kind === 'recorder') return new RecorderDataPlane();
  const { LinuxDataPlane } = await import('../../dataplane/linux/linux-data-plane.ts');
  return new LinuxDataPlane({ localVtep: d.vtep, netns: d.netns, underlayDev: d.underlay, trunk: d.trunk, dstPort: d.dstPort });
}

export interface GatewayAgentRunOptions {
  jid: string;
  password: string;
  /** `xmpp://host:port`. */
  service: string;
  /** The controller's JID (the XMPP driver binds resource `controller` when none is given). */
  controller: string;
  /** Defaults to the in-memory recorder (no root needed). */
  dataPlane?: DataPlane;
  log?: (line: string) => void;
  /** Stop on these signals (default SIGINT, SIGTERM); [] to let the caller stop the agent. */
  signals?: NodeJS.Signals[];
}

export async function runGatewayAgent(o: GatewayAgentRunOptions): Promise<GatewayAgent> {
  const log = o.log ?? ((l: string) => console.error(l));
  const agent = new GatewayAgent({ service: o.service, jid: o.jid, password: o.password, controller: o.controller, dataPlane: o.dataPlane ?? new RecorderDataPlane() });
  agent.on('status', (s: string) => log(`gateway-agent ${o.jid}: ${s}`));
  agent.on('announced', (a: { revision: number }) => log(`gateway-agent ${o.jid}: announced revision ${a.revision} to ${o.controller}`));
  agent.on('applied', (a: { revision: number; mode: string }) => log(`gateway-agent ${o.jid}: applied revision ${a.revision} (${a.mode})`));
  agent.on('refused', (r: { condition: string; from?: string }) => log(`gateway-agent ${o.jid}: refused a request (${r.condition})${r.from ? ` from ${r.from}` : ''}`));
  agent.on('warning', (e: Error) => log(`gateway-agent ${o.jid}: ${e.message}`));
  try {
    await agent.start();
  } catch (e) {
    await agent.stop();
    // Said here: the CLI would otherwise take a bare ECONNREFUSED for Redis, the usual dependency.
    throw new NvoError('unavailable', `gateway agent ${o.jid}: cannot start its XMPP session at ${o.service}: ${(e as Error).message}`);
  }
  for (const sig of o.signals ?? ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => void agent.stop().then(() => process.exit(0)));
  }
  return agent;
}
