// The lab's process supervisor: every process the lab starts is recorded by PID (with its kernel
// start time, so a recycled PID is never mistaken for ours) in the state dir before `up` waits for
// it, and stopped by that PID. Everything the lab runs names the state dir on its command line, so
// after a `kill -9` of `up` at any moment a sweep of /proc finds even the processes it had no time
// to record (netconfd and sshd name Supervisor.netconfDir instead).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NvoError } from '../errors.ts';
import { descendants } from '../../lab/process-tree.ts';

export { descendants };

/** Set in the environment of every process the lab spawns: the state dir it belongs to. */
export const LAB_ENV = 'NVO_LAB_STATE_DIR';
const NVO_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/nvo.js');

export interface ProcRecord {
  pid: number;
  /** /proc/PID/stat field 22: the start time in clock ticks since boot. */
  start: number;
  what: string;
  log?: string;
  /** Loopback TCP ports this process listens on (status checks them). */
  ports?: number[];
}

export interface LabState {
  name: string;
  topology: string;
  /** Namespaces recorded before they were created. */
  namespaces: string[];
  processes: Record<string, ProcRecord>;
  /** Everything else the steps keep (ports, logins); each step owns its key. */
  data: Record<string, unknown>;
}

export class Supervisor {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = resolve(stateDir);
  }

  /**
   * Where netconfd and sshd keep their files: outside the state dir, because the lab's unprivileged
   * NETCONF login user must traverse every parent of its sockets and the state dir's parents may be
   * private. Named after the state dir, so it is found again after a crash.
   */
  get netconfDir(): string {
    return join(tmpdir(), `nvo-lab-${createHash('sha256').update(this.dir).digest('hex').slice(0, 12)}`);
  }

  get stateFile(): string {
    return join(this.dir, 'state.json');
  }

  logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  readyFile(name: string): string {
    return join(this.dir, 'run', `${name}.ready`);
  }

  read(): LabState | null {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as LabState;
    } catch {
      return null;
    }
  }

  // Write-then-rename: a crash never leaves half a state file.
  write(state: LabState): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
    renameSync(tmp, this.stateFile);
  }

  /** One `up` at a time per state dir: the lock names its holder, and a dead holder's lock is taken over. */
  lock(): () => void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, 'up.lock');
    const me = JSON.stringify({ pid: process.pid, start: startTime(process.pid) ?? 0 });
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
        return () => rmSync(file, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
        let holder: ProcRecord | null = null;
        try {
          holder = JSON.parse(readFileSync(file, 'utf8')) as ProcRecord;
        } catch {
          // half-written by a holder that died at once
        }
        if (holder && isAlive(holder)) throw new NvoError('conflict', `another nvo lab up (pid ${holder.pid}) is working on ${this.dir}`);
        rmSync(file, { force: true });
      }
    }
  }

  /** Starts `nvo <args>` detached, its output in logs/NAME.log, and records it at once. */
  spawnNvo(state: LabState, name: string, args: string[], env: NodeJS.ProcessEnv = {}): ProcRecord {
    return this.spawn(state, name, process.execPath, [NVO_BIN, ...args], env);
  }

  spawn(state: LabState, name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ProcRecord {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    mkdirSync(join(this.dir, 'run'), { recursive: true });
    rmSync(this.readyFile(name), { force: true });
    const log = this.logFile(name);
    const fd = openSync(log, 'a');
    try {
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env, [LAB_ENV]: this.dir } });
      if (!child.pid) throw new NvoError('internal', `${name}: ${cmd} did not start`);
      child.unref();
      const rec: ProcRecord = { pid: child.pid, start: startTime(child.pid) ?? 0, what: [cmd, ...args].join(' '), log };
      state.processes[name] = rec;
      this.write(state);
      return rec;
    } finally {
      closeSync(fd);
    }
  }

  /** Waits for the process's ready file (JSON it writes when serving); fails at once if it dies. */
  async waitReady<T = unknown>(name: string, rec: ProcRecord, timeoutMs = 30_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (existsSync(this.readyFile(name))) {
        try {
          return JSON.parse(readFileSync(this.readyFile(name), 'utf8')) as T;
        } catch {
          // being written
        }
      }
      if (!isAlive(rec)) throw new NvoError('unavailable', `${name} exited before it was ready: ${logTail(rec.log)}`);
      if (Date.now() > end) throw new NvoError('timeout', `${name} was not ready within ${timeoutMs / 1000} s: ${logTail(rec.log)}`);
      await sleep(50);
    }
  }

  async stop(state: LabState, name: string): Promise<void> {
    const rec = state.processes[name];
    if (rec) await stopProcess(rec);
    delete state.processes[name];
    this.write(state);
  }

  /** PIDs of processes that name this state dir on their command line (other than `nvo lab up|down|status` runs and our ancestors). */
  strays(): number[] {
    const mine = new Set(ancestors(process.pid));
    const out: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || mine.has(Number(e))) continue;
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (!argv.some((a) => a === this.dir || a.includes(`${this.dir}/`) || a.includes(`${this.netconfDir}/`)) && !this.inEnviron(e)) continue;
      const i = argv.indexOf('lab');
      if (i >= 0 && ['up', 'down', 'status', 'demo'].includes(argv[i + 1] ?? '')) continue;
      out.push(Number(e));
    }
    return out;
  }

  // `nvo worker` takes no path argument: the lab marks the processes it spawns in their environment.
  private inEnviron(pid: string): boolean {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${LAB_ENV}=${this.dir}`);
    } catch {
      return false;
    }
  }
}

export function startTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

export function isAlive(rec: Pick<ProcRecord, 'pid' | 'start'>): boolean {
  const st = startTime(rec.pid);
  if (st === null || (rec.start !== 0 && st !== rec.start)) return false;
  // A zombie (exited, not yet reaped) is not running.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${rec.pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function ancestors(pid: number): number[] {
  const out: number[] = [];
  let p = pid;
  while (p > 1) {
    out.push(p);
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}


/** SIGTERM (the process and its children), then SIGKILL after a grace period. */
export async function stopProcess(rec: Pick<ProcRecord, 'pid' | 'start'>, graceMs = 4_000): Promise<void> {
  if (!isAlive(rec)) return;
  await killPids(descendants(rec.pid), graceMs);
}

export async function killPids(pids: number[], graceMs = 4_000): Promise<void> {
  const recs = pids.map((pid) => ({ pid, start: startTime(pid) ?? 0 })).filter(isAlive);
  for (const r of recs) signal(r.pid, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (recs.some(isAlive) && Date.now() < end) await sleep(25);
  for (const r of recs) if (isAlive(r)) signal(r.pid, 'SIGKILL');
  while (recs.some(isAlive) && Date.now() < end + 3_000) await sleep(25);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, host);
    s.setTimeout(1_000, () => (s.destroy(), res(false)));
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

export function logTail(file: string | undefined, lines = 3): string {
  if (!file) return 'no log';
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ') || 'empty log';
  } catch {
    return 'no log';
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
