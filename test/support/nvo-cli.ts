// The `nvo` executable as a user runs it (node bin/nvo.js …), for the tests of the CLI: one place that
// spawns it and collects what it printed. It waits for 'close', not 'exit': only then is all the
// output read.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const NVO_BIN = resolve(import.meta.dirname, '../../bin/nvo.js');

export interface NvoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nvo args…` with `env` over this process's environment. */
export function runNvo(args: string[], env: NodeJS.ProcessEnv = {}, o: { cwd?: string } = {}): Promise<NvoRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [NVO_BIN, ...args], { env: { ...process.env, ...env }, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A command that must fail with `code` and one `nvo: error:` line on stderr matching `line`, print
 *  nothing on stdout, and leave the store (`snapshot`) exactly as it was. */
export async function expectRefused(run: (args: string[]) => Promise<NvoRun>, snapshot: () => Promise<string>, args: string[], code: number, line: RegExp): Promise<void> {
  const { expect } = await import('vitest');
  const before = await snapshot();
  const r = await run(args);
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^nvo: error: /);
  expect(r.stderr).toMatch(line);
  expect(r.stdout).toBe('');
  expect(await snapshot()).toBe(before);
}
