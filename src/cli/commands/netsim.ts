// `nvo netsim`: a fleet of simulated NETCONF devices on loopback (start/stop/status), faults
// injected into it while it runs (fail), settings changed (set), or the fleet in the foreground (run).
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Framing } from '../../drivers/netconf/framing.ts';
import { control } from '../../netsim/control.ts';
import type { DeviceStatus, Fault } from '../../netsim/fleet.ts';
import { readState, runFleet, startBackground, stopBackground } from '../../netsim/process.ts';

const stateDirDefault = () => process.env.NVO_STATE_DIR ?? '.nvo';

function int(name: string, min: number, max: number) {
  return (v: string) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${name} must be a whole number ${min}..${max}`);
    return Number(v);
  };
}

function protocols(v: string): Framing[] {
  const out = v.split(',').map((p) => {
    const m = /^base:(1\.[01])$/.exec(p.trim());
    if (!m) throw new InvalidArgumentError(`'${p}' is not base:1.0 or base:1.1`);
    return m[1] as Framing;
  });
  return [...new Set(out)];
}

const device = (v: string) => (v === 'all' ? ('all' as const) : int('device', 1, 65535)(v));

// --fail KIND[:TAG][@PORT], e.g. refuse-commit:in-use@1830, drop-session, refuse-commit
export function parseFailSpec(v: string, prev: { device: number | 'all'; fault: Fault }[] = []): { device: number | 'all'; fault: Fault }[] {
  const m = /^(refuse-commit|drop-session)(?::([A-Za-z][\w-]*))?(?:@(\d+|all))?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`'${v}' is not refuse-commit[:TAG][@PORT] or drop-session[@PORT]`);
  if (m[1] === 'drop-session' && m[2]) throw new InvalidArgumentError('drop-session takes no error tag');
  const fault: Fault = m[1] === 'refuse-commit' ? { kind: 'refuse-commit', ...(m[2] ? { error: { tag: m[2] } } : {}) } : { kind: 'drop-session' };
  return [...prev, { device: m[3] ? device(m[3]) : 'all', fault }];
}

function fleetOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--devices <n>', 'number of simulated devices', int('--devices', 1, 10_000))
    .requiredOption('--base-port <port>', 'first port; device i listens on base+i', int('--base-port', 1, 65535))
    .option('--commit-delay <ms>', 'time every commit takes', int('--commit-delay', 0, 3_600_000), 0)
    .option('--protocols <list>', 'NETCONF base versions announced', protocols, ['1.0', '1.1'] as Framing[])
    .option('--fail <spec>', 'fault armed at start: refuse-commit[:TAG][@PORT] | drop-session[@PORT] (repeatable)', parseFailSpec, [])
    .option('--no-checks', 'accept configuration the nvo3-lab YANG rules would reject')
    .option('--username <name>', 'SSH user', 'admin')
    .option('--password <pw>', 'SSH password', 'admin')
    .option('--state-dir <dir>', 'where the state file and log live', stateDirDefault());
}

interface FleetFlags {
  devices: number;
  basePort: number;
  commitDelay: number;
  protocols: Framing[];
  fail: { device: number | 'all'; fault: Fault }[];
  checks: boolean;
  username: string;
  password: string;
  stateDir: string;
}

function running(stateDir: string) {
  const s = readState(stateDir);
  if (!s) throw Object.assign(new Error(`netsim is not running (no state file in ${stateDir})`), { exitCode: 3 });
  return s;
}

function print(json: boolean, data: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : human());
}

/** The command group; under `parent` it inherits the nvo program's error handling. */
export function netsimCommand(parent?: Command): Command {
  const cmd = (parent ? parent.command('netsim') : new Command('netsim')).description('simulated NETCONF devices on 127.0.0.1 for trying nvo against a fleet');

  fleetOptions(cmd.command('start').description('start a fleet in the background'))
    .option('--json', 'machine-readable output')
    .action(async (f: FleetFlags & { json?: boolean }) => {
      const args = ['--devices', String(f.devices), '--base-port', String(f.basePort), '--commit-delay', String(f.commitDelay), '--protocols', f.protocols.map((p) => `base:${p}`).join(','), '--username', f.username, '--password', f.password];
      if (!f.checks) args.push('--no-checks');
      for (const x of f.fail) args.push('--fail', `${x.fault.kind}${x.fault.kind === 'refuse-commit' && x.fault.error?.tag ? `:${x.fault.error.tag}` : ''}@${x.device}`);
      const s = await startBackground(f.stateDir, args);
      print(!!f.json, s, () => `netsim started: pid ${s.pid}, ${s.devices} devices on ${s.host}:${s.basePort}..${s.basePort + s.devices - 1} (user ${s.username}), control ${s.controlUrl}`);
    });

  fleetOptions(cmd.command('run').description('run a fleet in the foreground (Ctrl-C stops it)'))
    .option('--control-port <port>', 'port of the HTTP control channel (default: any free one)', int('--control-port', 1, 65535))
    .action(async (f: FleetFlags & { controlPort?: number }) => {
      await runFleet({ devices: f.devices, basePort: f.basePort, commitDelayMs: f.commitDelay, protocols: f.protocols, checks: f.checks, username: f.username, password: f.password, stateDir: f.stateDir, controlPort: f.controlPort, faults: f.fail });
    });

  cmd
    .command('stop')
    .description('stop the background fleet and wait until its process is gone')
    .option('--state-dir <dir>', 'where the state file lives', stateDirDefault())
    .action(async (o: { stateDir: string }) => {
      console.log((await stopBackground(o.stateDir)) ? 'netsim stopped' : 'netsim was not running');
    });

  cmd
    .command('status')
    .description('devices, sessions, locks, pending confirmed commits, armed faults')
    .option('--state-dir <dir>', 'where the state file lives', stateDirDefault())
    .option('--json', 'machine-readable output')
    .action(async (o: { stateDir: string; json?: boolean }) => {
      const s = running(o.stateDir);
      const st = await control<{ devices: DeviceStatus[] }>(s.controlUrl, 'GET', '/status');
      print(!!o.json, { ...s, password: undefined, ...st }, () => table(s.pid, st.devices));
    });

  cmd
    .command('fail')
    .description('arm a fault on a running fleet')
    .requiredOption('--device <port|all>', 'which device', device)
    .addOption(new Option('--kind <kind>', 'the fault').choices(['refuse-commit', 'drop-session', 'clear']).makeOptionMandatory())
    .option('--count <n>', 'how many times', int('--count', 1, 1_000_000))
    .option('--tag <tag>', 'refuse-commit: the error-tag (default operation-failed)')
    .option('--type <type>', 'refuse-commit: the error-type (default application)')
    .option('--message <text>', 'refuse-commit: the error-message')
    .option('--state-dir <dir>', 'where the state file lives', stateDirDefault())
    .action(async (o: { device: number | 'all'; kind: string; count?: number; tag?: string; type?: string; message?: string; stateDir: string }) => {
      const s = running(o.stateDir);
      const error = o.kind === 'refuse-commit' && (o.tag || o.type || o.message) ? { tag: o.tag, type: o.type, message: o.message } : undefined;
      await control(s.controlUrl, 'POST', '/faults', { device: o.device, kind: o.kind, count: o.count, error });
      console.log(`netsim: ${o.kind} armed on ${o.device === 'all' ? 'every device' : `device ${o.device}`}`);
    });

  cmd
    .command('set')
    .description('change settings of a running fleet')
    .requiredOption('--device <port|all>', 'which device', device)
    .option('--commit-delay <ms>', 'time every commit takes', int('--commit-delay', 0, 3_600_000))
    .option('--checks <on|off>', 'nvo3-lab YANG checks', (v) => (v === 'on' ? true : v === 'off' ? false : (() => { throw new InvalidArgumentError('on or off'); })()))
    .option('--state-dir <dir>', 'where the state file lives', stateDirDefault())
    .action(async (o: { device: number | 'all'; commitDelay?: number; checks?: boolean; stateDir: string }) => {
      const s = running(o.stateDir);
      await control(s.controlUrl, 'POST', '/settings', { device: o.device, commitDelayMs: o.commitDelay, checks: o.checks });
      console.log('netsim: settings changed');
    });

  return cmd;
}

function table(pid: number, devices: DeviceStatus[]): string {
  const rows = devices.map((d) => [
    String(d.port),
    d.sessions.join(',') || '-',
    [d.locks.running ? `running:${d.locks.running}` : '', d.locks.candidate ? `candidate:${d.locks.candidate}` : ''].filter(Boolean).join(' ') || '-',
    d.confirmedCommit ? `${d.confirmedCommit.secondsLeft}s${d.confirmedCommit.persist ? ' persist' : ` s${d.confirmedCommit.sessionId}`}` : '-',
    String(d.stats.commits),
    String(d.stats.rollbacks),
    `${d.commitDelayMs}ms`,
    [d.faults.refuseCommit ? `refuse-commit×${d.faults.refuseCommit}` : '', d.faults.dropSession ? `drop-session×${d.faults.dropSession}` : ''].filter(Boolean).join(' ') || '-',
  ]);
  const head = ['PORT', 'SESSIONS', 'LOCKS', 'CONFIRMING', 'COMMITS', 'ROLLBACKS', 'DELAY', 'FAULTS'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [`netsim pid ${pid}`, line(head), ...rows.map(line)].join('\n');
}

export function registerNetsim(program: Command): void {
  netsimCommand(program);
}
