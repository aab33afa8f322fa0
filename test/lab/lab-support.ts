// What the lab tests share: whether this machine can run a lab at all, and how to see what a lab left
// behind — its namespaces (named `<lab name>-…`) and its processes (every process the lab starts
// names its state dir or its netconfd dir on its command line).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Supervisor } from '../../src/lab/supervisor.ts';
import { netnsSkipReason } from '../support/netns.ts';

/** Why a lab cannot run here, or null. `ping`: the test also needs iputils-ping. */
export function labSkipReason(o: { ping?: boolean } = {}): string | null {
  for (const bin of ['/usr/sbin/netconfd', '/usr/sbin/sshd', '/usr/bin/prosody', '/usr/bin/prosodyctl']) if (!existsSync(bin)) return `${bin} is missing`;
  return netnsSkipReason(o);
}

export function labNamespaces(name: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${name}-`));
}

/** PIDs (as in /proc) of every process of the lab whose state dir this is. */
export function labProcesses(stateDir: string): string[] {
  const netconfDir = new Supervisor(stateDir).netconfDir;
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
        return cmd.includes(stateDir) || cmd.includes(netconfDir);
      } catch {
        return false;
      }
    });
}
