// `nvo gateway-agent`: the CLI parses the options and calls this; it runs until SIGINT/SIGTERM.
import { RecorderDataPlane } from '../../dataplane/recorder.ts';
import type { DataPlane } from '../../dataplane/data-plane.ts';
import { GatewayAgent } from './gateway-agent.ts';

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
  await agent.start();
  for (const sig of o.signals ?? ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => void agent.stop().then(() => process.exit(0)));
  }
  return agent;
}
