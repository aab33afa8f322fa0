// nvo lab up|down|status|demo: the seed's reference architecture on this machine (docs/lab.md).
// `_run` is the entry of the lab's own long-lived processes (netconfd host, device appliers,
// gateway agents); `up` starts them, nobody else needs to.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { NvoError } from '../../errors.ts';
import type { CliContext } from '../context.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface LabOpts {
  topology: string;
  stateDir?: string;
  name?: string;
  json?: boolean;
}

const stateDirOf = (o: LabOpts) => resolve(o.stateDir ?? join(process.env.NVO_STATE_DIR ?? join(ROOT, '.nvo'), 'lab'));

export function registerLab(program: Command, ctx: CliContext): void {
  const lab = program.command('lab').description('the reference architecture on this machine: namespaces, netconfd, Prosody, agents, proxies (needs root)');
  const common = (c: Command) =>
    c
      .option('--topology <file>', 'topology file', join(ROOT, 'lab/topology.yaml'))
      .option('--state-dir <dir>', 'where the lab records its processes, logs and logins (default $NVO_STATE_DIR/lab)')
      .option('--name <prefix>', "namespace prefix, instead of the topology's name");

  const load = async (o: LabOpts) => {
    const { requireRoot } = await import('../../lab/lab-up.ts');
    requireRoot();
    const { loadTopology } = await import('../../lab/topology.ts');
    const { Supervisor } = await import('../../lab/supervisor.ts');
    return { topology: loadTopology(o.topology, o.name), sup: new Supervisor(stateDirOf(o)) };
  };
  const progress = (line: string) => process.stderr.write(`nvo lab: ${line}\n`);

  common(lab.command('up').description('build the lab, or repair what is missing of it; a second run changes nothing')).action(async (o: LabOpts) => {
    const { topology, sup } = await load(o);
    const { labUp } = await import('../../lab/lab-up.ts');
    const commands = new Set(program.commands.map((c) => c.name()));
    const { seconds } = await labUp({ topology, sup, store: () => ctx.store(), progress, commands });
    ctx.print(`lab ${topology.name} is up in ${seconds.toFixed(1)} s (state in ${sup.dir}; nvo lab status shows it, nvo lab down removes it)`);
  });

  common(lab.command('down').description('stop every lab process and remove its namespaces, links and files')).action(async (o: LabOpts) => {
    const { requireRoot } = await import('../../lab/lab-up.ts');
    requireRoot();
    const { Supervisor } = await import('../../lab/supervisor.ts');
    const { loadTopology } = await import('../../lab/topology.ts');
    const { labDown } = await import('../../lab/lab-down.ts');
    const sup = new Supervisor(stateDirOf(o));
    // The namespaces are named after the topology; a lab whose topology file is gone is still removed from its state file.
    let topology = null;
    try {
      topology = loadTopology(o.topology, o.name ?? sup.read()?.name);
    } catch (e) {
      progress(`topology not readable (${(e as Error).message}); removing what the state file records`);
    }
    await labDown(sup, topology, progress);
    ctx.print('lab is down');
  });

  common(lab.command('status').description('each element of the lab and whether it is up'))
    .option('--json', 'machine-readable output')
    .action(async (o: LabOpts) => {
      const { topology, sup } = await load({ ...o, name: o.name ?? readName(stateDirOf(o)) });
      const { labStatus } = await import('../../lab/lab-status.ts');
      const rows = await labStatus(sup, topology);
      if (o.json) ctx.json(rows);
      else ctx.table(rows, [
        { header: 'ELEMENT', value: (r) => r.element },
        { header: 'UP', value: (r) => (r.up ? 'yes' : 'no') },
        { header: 'DETAIL', value: (r) => r.detail },
      ]);
      if (rows.some((r) => !r.up)) process.exitCode = 1;
    });

  common(lab.command('demo').description('run use cases 1-6 on the lab (lab up first when it is not up), narrate each step and prove it; exit 1 on the first failed proof'))
    .option('--json', 'the machine-readable report (every step, its proofs and figures) instead of the narration')
    .action(async (o: LabOpts) => {
      const { topology, sup } = await load({ ...o, name: o.name ?? readName(stateDirOf(o)) });
      const { labStatus } = await import('../../lab/lab-status.ts');
      const status = sup.read() ? await labStatus(sup, topology) : [];
      if (status.length === 0 || status.some((r) => !r.up)) {
        progress(status.length ? `not all up (${status.filter((r) => !r.up).map((r) => r.element).join(', ')}): nvo lab up first` : 'no lab yet: nvo lab up first');
        const { labUp } = await import('../../lab/lab-up.ts');
        await labUp({ topology, sup, store: () => ctx.store(), progress, commands: new Set(program.commands.map((c) => c.name())) });
      }
      const { runDemo } = await import('../../lab/demo/run-demo.ts');
      const report = await runDemo({ topologyFile: o.topology, stateDir: sup.dir, name: topology.name, store: await ctx.store(), out: o.json ? undefined : (l) => ctx.print(l) });
      if (o.json) ctx.json(report);
      else if (report.ok) ctx.print(`\ndemo: use cases 1-6 proved in ${report.seconds.toFixed(1)} s`);
      if (!report.ok) {
        process.stderr.write(`nvo lab demo: step ${report.failed!.step} failed: ${report.failed!.what}${report.failed!.detail ? ` (${report.failed!.detail})` : ''}\n`);
        process.exitCode = 1;
      }
    });

  lab
    .command('_run <kind>', { hidden: true })
    .requiredOption('--state-dir <dir>')
    .option('--config <file>')
    .option('--dir <dir>')
    .option('--count <n>')
    .option('--ready <file>')
    .action(async (kind: string, o: { stateDir: string; config?: string; dir?: string; count?: string; ready?: string }) => {
      const config = () => JSON.parse(readFileSync(o.config!, 'utf8')) as never;
      if (kind === 'netconf') {
        const { runNetconfHost } = await import('../../lab/netconf-host.ts');
        await runNetconfHost({ dir: o.dir!, count: Number(o.count), readyFile: o.ready! });
      } else if (kind === 'applier') {
        const { runDeviceApplier } = await import('../../lab/device-applier.ts');
        await runDeviceApplier(config());
      } else if (kind === 'gateway') {
        const { runGatewayHost } = await import('../../lab/gateway-host.ts');
        await runGatewayHost(config());
      } else throw new NvoError('invalid-input', `unknown lab process kind ${kind}`);
    });
}

function readName(stateDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}
