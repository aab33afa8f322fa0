// Proxies as separate OS processes for tests: `node bin/nvo.js tenant-proxy|network-proxy --config F`
// on the test's Redis prefix, their port read from the JSON 'listening' log line, stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NVO_BIN, runNvo, type NvoRun } from '../support/nvo-cli.ts';


export interface ProxyProcess {
  child: ChildProcess;
  port: number;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
}

export class ProxyProcesses {
  readonly dir = mkdtempSync(join(tmpdir(), 'nvo-proxies-'));
  private readonly started: ProxyProcess[] = [];

  constructor(private readonly prefix: string) {}

  config(name: string, cfg: object): string {
    const file = join(this.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    return file;
  }

  /** Runs `nvo <args>` to its end: exit code and output (for refused configurations). */
  run(args: string[]): Promise<NvoRun> {
    return runNvo(args, this.env());
  }

  async start(kind: 'tenant-proxy' | 'network-proxy', configFile: string, timeoutMs = 60_000): Promise<ProxyProcess> {
    const child = spawn(process.execPath, [NVO_BIN, kind, '--config', configFile], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const p: ProxyProcess = { child, port: 0, logs: [], stderr: '', exited: new Promise((r) => child.once('exit', (c) => r(c))) };
    this.started.push(p);
    child.stderr!.on('data', (b: Buffer) => (p.stderr += b.toString()));
    let partial = '';
    const listening = new Promise<number>((resolveP, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} did not listen within ${timeoutMs} ms: ${p.stderr}`)), timeoutMs);
      child.stdout!.on('data', (b: Buffer) => {
        partial += b.toString();
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (!line.trim()) continue;
          const rec = JSON.parse(line) as Record<string, unknown>;
          p.logs.push(rec);
          if (rec.event === 'listening') {
            clearTimeout(timer);
            resolveP(rec.port as number);
          }
        }
      });
      void p.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited with ${code} before listening: ${p.stderr}`));
      });
    });
    p.port = await listening;
    return p;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, NVO_PREFIX: this.prefix, NVO_LOG_LEVEL: 'info' };
  }

  /** SIGTERM to every process still running (SIGKILL after 15 s), then the temporary files go. */
  async stopAll(): Promise<void> {
    for (const p of this.started) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      await p.exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
