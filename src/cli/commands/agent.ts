// nvo agent: the hNVE agent as a process (src/agent/hnve). The file gives everything; flags override.
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { given } from '../context.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerAgent(program: Command, ctx: CliContext): void {
  const agent = program
    .command('agent')
    .description('run the hNVE agent (REGISTER, INVITE its VMs, keep the VNIs\' MAC tables and the data plane) until SIGINT/SIGTERM')
    .option('--config <file>', 'YAML: nve, secret|secretFile, proxies, dataPlane {kind: recorder|linux, vtep, netns, underlay}, vms')
    .option('--nve <id>', 'the hNVE id')
    .option('--secret-file <file>', 'file whose first line is the secret')
    .option('--proxy <url>', 'tenant proxy URL (repeat for fallbacks, in order)', collect)
    .option('--data-plane <kind>', 'recorder or linux')
    .option('--vtep <address>', 'local VTEP for the linux data plane')
    .option('--netns <name>', 'network namespace for the linux data plane')
    .option('--underlay <dev>', 'underlay device for the linux data plane')
    .option('--control <socket>', 'UNIX socket for nvo agent ctl (INVITE, INFO, BYE, REFER, state on the running agent)')
    .action(async (o: { config?: string; nve?: string; secretFile?: string; proxy?: string[]; dataPlane?: string; vtep?: string; netns?: string; underlay?: string; control?: string }) => {
      const { loadAgentConfig } = await import('../../agent/hnve/config.ts');
      const { runHnveAgent } = await import('../../agent/hnve/run.ts');
      const dp = given({ kind: o.dataPlane, vtep: o.vtep, netns: o.netns, underlay: o.underlay });
      const config = loadAgentConfig(o.config, given({ nve: o.nve, secretFile: o.secretFile, proxies: o.proxy, dataPlane: Object.keys(dp).length ? dp : undefined, control: o.control }));
      await runHnveAgent(config);
      await new Promise<void>(() => undefined);
    });

  agent
    .command('ctl <op> [mac]')
    .description('drive a running agent through its control socket: invite MAC | info MAC --add/--delete M | bye MAC | refer --to HNVE|--to-vtep A | port MAC --port P | state')
    .requiredOption('--socket <path>', "the agent's control socket (its file's control:, or --control)")
    .option('--cid <cid>', 'invite: the tenant, for a VM the agent\'s file does not list')
    .option('--ip <address>', "invite: the VM's address")
    .option('--port <ifname>', "invite/port: the VM's port on this host")
    .option('--add <mac>', 'info: a MAC to add (repeat)', collect)
    .option('--delete <mac>', 'info: a MAC to delete (repeat)', collect)
    .option('--to <hnve>', 'refer: the hNVE that takes the sessions')
    // Not --vtep: commander would give that to `nvo agent` itself (parent options are read after subcommands too).
    .option('--to-vtep <address>', 'refer: or the registered hNVE with this VTEP')
    .action(async (op: string, mac: string | undefined, o: { socket: string; cid?: string; ip?: string; port?: string; add?: string[]; delete?: string[]; to?: string; toVtep?: string }) => {
      const { controlRequest } = await import('../../agent/hnve/control.ts');
      const command = given({ op, mac, cid: o.cid, ip: o.ip, port: o.port, add: o.add, delete: o.delete, to: o.to, vtep: o.toVtep });
      const answer = await controlRequest(o.socket, command as never);
      ctx.json(answer);
      if (answer.status >= 300) process.exitCode = 1;
    });
}
