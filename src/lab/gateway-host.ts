// `nvo lab _run gateway`: an XMPP lab device — the gateway agent with the Linux data plane in the
// device's namespace. It writes its ready file once its XMPP session is online.
import { writeFileSync } from 'node:fs';
import { runGatewayAgent } from '../agent/gateway/run.ts';
import { LinuxDataPlane } from '../dataplane/linux/linux-data-plane.ts';

export interface GatewayHostConfig {
  device: string;
  netns: string;
  vtep: string;
  jid: string;
  password: string;
  service: string;
  controller: string;
  readyFile: string;
}

export async function runGatewayHost(c: GatewayHostConfig): Promise<void> {
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const agent = await runGatewayAgent({
    jid: c.jid,
    password: c.password,
    service: c.service,
    controller: c.controller,
    dataPlane: new LinuxDataPlane({ netns: c.netns, localVtep: c.vtep }),
    log,
  });
  const ready = () => writeFileSync(c.readyFile, JSON.stringify({ device: c.device, jid: c.jid, status: agent.status, revision: agent.revision }));
  ready();
  agent.on('status', ready);
  agent.on('applied', ready);
  // runGatewayAgent exits the process on SIGINT/SIGTERM after stopping the agent.
  await new Promise<never>(() => undefined);
}
