// netsim as a background process: `run` holds the fleet in the foreground and writes a state file
// (pid, ports, credentials, host keys, control URL); `start` launches `run` detached and waits for
// that file; `stop` asks it to shut down and waits until the pid is gone.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NvoError } from '../errors.ts';
import { control, startControl } from './control.ts';
import { Fleet, type Fault, type FleetOptions } from './fleet.ts';

export interface NetsimState {
  pid: number;
  controlUrl: string;
  host: string;
  basePort: number;
  devices: number;
  username: string;
  password: string;
  protocols: string[];
  hostKeys: Record<string, string>;
  startedAt: string;
  log: string;
}

export const stateFile = (dir: string) => join(dir, 'netsim.json');
export const logFile = (dir: string) => join(dir, 'netsim.log');

export function readState(dir: string): NetsimState | null {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as NetsimState;
  } catch {
    return null;
  }
}

// A pid from a state file is only ours while that process is still netsim (pids are reused).
export function isNetsimProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('netsim');
  } catch {
    return false;
  }
}

/** Runs the fleet in this process; resolves once it has stopped (SIGTERM/SIGINT or POST /shutdown). */
export async function runFleet(o: FleetOptions & { stateDir: string; controlPort?: number; faults?: { device: number | 'all'; fault: Fault }[] }): Promise<void> {
  const fleet = await Fleet.start(o);
  for (const f of o.faults ?? []) fleet.inject(f.device, f.fault);
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await ctl.close();
    await fleet.stop();
    if (readState(o.stateDir)?.pid === process.pid) rmSync(stateFile(o.stateDir), { force: true });
    stopped();
  };
  const ctl = await startControl(fleet, o.controlPort ?? 0, () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  const state: NetsimState = {
    pid: process.pid,
    controlUrl: ctl.url,
    host: fleet.host,
    basePort: o.basePort,
    devices: o.devices,
    username: fleet.username,
    password: fleet.password,
    protocols: fleet.protocols.map((p) => `base:${p}`),
    hostKeys: Object.fromEntries(fleet.ports.map((p) => [String(p), fleet.hostKey(p)])),
    startedAt: new Date().toISOString(),
    log: logFile(o.stateDir),
  };
  mkdirSync(o.stateDir, { recursive: true });
  const tmp = `${stateFile(o.stateDir)}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 }); // it holds the password
  renameSync(tmp, stateFile(o.stateDir));
  console.log(`netsim: ${o.devices} devices on ${fleet.host}:${o.basePort}..${o.basePort + o.devices - 1}, control ${ctl.url}`);
  await done;
}

const mainPath = resolve(dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** Starts `main.ts run ARGS` detached and resolves with its state once it listens. */
export async function startBackground(stateDir: string, runArgs: string[], timeoutMs = 60_000): Promise<NetsimState> {
  const old = readState(stateDir);
  if (old && isNetsimProcess(old.pid)) throw new NvoError('conflict', `netsim is already running (pid ${old.pid}, ports ${old.basePort}..${old.basePort + old.devices - 1}); stop it first`);
  mkdirSync(stateDir, { recursive: true });
  rmSync(stateFile(stateDir), { force: true });
  const log = openSync(logFile(stateDir), 'a');
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), mainPath, 'run', '--state-dir', stateDir, ...runArgs], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const s = readState(stateDir);
      if (s && s.pid === child.pid) return s;
      if (exited !== null) {
        const tail = readFileSync(logFile(stateDir), 'utf8').trim().split('\n').slice(-5).join('\n');
        throw new NvoError('internal', `netsim exited with code ${exited} before it listened:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new NvoError('unavailable', `netsim did not come up within ${timeoutMs} ms (log: ${logFile(stateDir)})`);
  } finally {
    child.unref();
  }
}

/** Stops the netsim of `stateDir`; false when none was running. */
export async function stopBackground(stateDir: string, timeoutMs = 15_000): Promise<boolean> {
  const s = readState(stateDir);
  if (!s) return false;
  if (!isNetsimProcess(s.pid)) {
    rmSync(stateFile(stateDir), { force: true }); // left by a netsim that died
    return false;
  }
  await control(s.controlUrl, 'POST', '/shutdown').catch(() => process.kill(s.pid, 'SIGTERM'));
  const deadline = Date.now() + timeoutMs;
  while (isNetsimProcess(s.pid)) {
    if (Date.now() > deadline) {
      process.kill(s.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(stateFile(stateDir), { force: true });
  return true;
}
