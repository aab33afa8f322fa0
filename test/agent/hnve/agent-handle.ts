// The test's side of agent-process.ts: spawn, call ops, wait for events, stop by PID.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeviceConfig } from '../../../src/model/device-config.ts';
import type { RecordedOp } from '../../../src/dataplane/recorder.ts';
import type { PortEntry } from '../../../src/dataplane/hnve.ts';

const SCRIPT = fileURLToPath(new URL('./agent-process.ts', import.meta.url));

export interface AgentSnapshot {
  config: DeviceConfig;
  ports: PortEntry[];
  tables: Record<string, { revision: number; table: { mac: string; vtep: string }[]; floods: string[] }>;
  sessions: { callId: string; cid: string; mac: string; macs: string[]; pending: string | null }[];
  history: (Omit<RecordedOp, 'at'> & { at: string })[];
}

export class AgentHandle {
  readonly events: { event: string; body: Record<string, unknown> }[] = [];
  private seq = 0;
  private readonly waiting = new Map<number, (m: { ok: boolean; result?: unknown; error?: string }) => void>();
  readonly exited: Promise<void>;

  private constructor(
    readonly nve: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string; body?: Record<string, unknown> }) => {
      if (m.event) this.events.push({ event: m.event, body: m.body ?? {} });
      else if (m.id !== undefined) this.waiting.get(m.id)?.({ ok: m.ok!, result: m.result, error: m.error });
    });
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  static async spawn(cfg: { nve: string; secret: string; urls: string[]; ports?: Record<string, string> }): Promise<AgentHandle> {
    const child = fork(SCRIPT, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, NVO_TEST_AGENT: JSON.stringify(cfg) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const h = new AgentHandle(cfg.nve, child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`agent ${cfg.nve} exited with ${code} before it started`)));
    });
    return h;
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (m) => {
        this.waiting.delete(id);
        if (m.ok) resolve(m.result as T);
        else reject(new Error(`${this.nve} ${op}: ${m.error}`));
      });
      this.child.send({ id, op, args });
    });
  }

  snapshot(): Promise<AgentSnapshot> {
    return this.call<AgentSnapshot>('snapshot');
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    await this.exited;
  }
}
