// nvo gateway-agent: the XMPP gateway agent (src/agent/gateway) as a process. Flags or a YAML file;
// flags override the file. The password comes from a file, never the command line (ps shows that).
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { given, intArg } from '../context.ts';

export function registerGatewayAgent(program: Command, _ctx: CliContext): void {
  program
    .command('gateway-agent')
    .description("run the XMPP gateway agent (pushes from the controller's JID applied in revision order to a data plane) until SIGINT/SIGTERM")
    .option('--config <file>', 'YAML: jid, password|passwordFile, service, controller, dataPlane {kind: recorder|linux, vtep, netns, underlay, trunk, dstPort}')
    .option('--jid <jid>', "the agent's own JID (user@domain; resource defaults to gateway)")
    .option('--password-file <file>', 'file whose first line is the password')
    .option('--service <url>', 'the XMPP server, xmpp://host:port')
    .option('--controller <jid>', "the controller's JID; pushes from any other are refused")
    .option('--data-plane <kind>', 'recorder (default) or linux')
    .option('--vtep <address>', 'local VTEP for the linux data plane (required with linux)')
    .option('--netns <name>', 'network namespace for the linux data plane')
    .option('--underlay <dev>', 'underlay device for the linux data plane')
    .option('--trunk <dev>', 'trunk device for VLAN sub-interfaces (linux data plane, kernels with 802.1Q)')
    .option('--dst-port <port>', 'VXLAN UDP port for the linux data plane (default 4789)', intArg('--dst-port', 1, 65535))
    .action(async (o: { config?: string; jid?: string; passwordFile?: string; service?: string; controller?: string; dataPlane?: string; vtep?: string; netns?: string; underlay?: string; trunk?: string; dstPort?: number }) => {
      const { loadGatewayAgentConfig } = await import('../../agent/gateway/config.ts');
      const { gatewayDataPlane, runGatewayAgent } = await import('../../agent/gateway/run.ts');
      const dp = given({ kind: o.dataPlane, vtep: o.vtep, netns: o.netns, underlay: o.underlay, trunk: o.trunk, dstPort: o.dstPort });
      const c = loadGatewayAgentConfig(o.config, given({ jid: o.jid, passwordFile: o.passwordFile, service: o.service, controller: o.controller, dataPlane: Object.keys(dp).length ? dp : undefined }));
      await runGatewayAgent({ jid: c.jid, password: c.passwordValue, service: c.service, controller: c.controller, dataPlane: await gatewayDataPlane(c.dataPlane) });
      // runGatewayAgent stops the agent and exits 0 on SIGINT/SIGTERM.
      await new Promise<void>(() => undefined);
    });
}
