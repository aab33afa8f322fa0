// nvo agent: the hNVE agent as a process (src/agent/hnve). The file gives everything; flags override.
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { given } from '../context.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerAgent(program: Command, _ctx: CliContext): void {
  program
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
    .action(async (o: { config?: string; nve?: string; secretFile?: string; proxy?: string[]; dataPlane?: string; vtep?: string; netns?: string; underlay?: string }) => {
      const { loadAgentConfig } = await import('../../agent/hnve/config.ts');
      const { runHnveAgent } = await import('../../agent/hnve/run.ts');
      const dp = given({ kind: o.dataPlane, vtep: o.vtep, netns: o.netns, underlay: o.underlay });
      const config = loadAgentConfig(o.config, given({ nve: o.nve, secretFile: o.secretFile, proxies: o.proxy, dataPlane: Object.keys(dp).length ? dp : undefined }));
      await runHnveAgent(config);
      await new Promise<void>(() => undefined);
    });
}
