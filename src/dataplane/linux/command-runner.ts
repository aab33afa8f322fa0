// Runs iproute2's `ip` and `bridge` inside one network namespace. Never through a shell: every
// argument is its own argv element, so a name can never become a second command. State is read with
// `-json`, so parsing does not depend on iproute2's human output, which changes between releases.
import { execFile, spawn } from 'node:child_process';
import { NvoError } from '../../errors.ts';
import { checkNetnsName } from './names.ts';

export type Tool = 'ip' | 'bridge';

/** One command: the tool and its arguments after the namespace option. */
export interface Command {
  tool: Tool;
  args: string[];
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends NvoError {
  constructor(
    readonly command: Command,
    readonly netns: string | undefined,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    // The kernel's own words ("RTNETLINK answers: File exists") are the message.
    super('device-error', `${render(command)}${netns ? ` (netns ${netns})` : ''}: ${stderr.trim() || `exit ${exitCode}`}`, [], {
      command: [command.tool, ...command.args],
      netns,
      exitCode,
      deviceMessage: stderr.trim(),
    });
  }
}

export function render(c: Command): string {
  return [c.tool, ...c.args].join(' ');
}

export class CommandRunner {
  /** Every command run, in order: tests read it to see what a change cost. */
  readonly log: Command[] = [];

  constructor(
    readonly netns?: string,
    private readonly timeoutMs = 10_000,
  ) {
    if (netns !== undefined) checkNetnsName(netns, 'netns');
  }

  run(command: Command): Promise<CommandResult> {
    this.log.push(command);
    const argv = this.netns === undefined ? command.args : ['-n', this.netns, ...command.args];
    return new Promise((resolve, reject) => {
      execFile(command.tool, argv, { timeout: this.timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new CommandError(command, this.netns, code, stderr || err.message));
          return;
        }
        resolve({ stdout, stderr });
      });
    });
  }

  /**
   * Runs many commands of one tool in one process (`-batch -`), which stops at the first failure.
   * Only for arguments without blanks or quotes (MACs, addresses, validated names): batch lines are
   * split on whitespace. One process instead of hundreds is what makes 500 fdb entries cheap.
   */
  async batch(tool: Tool, commands: string[][]): Promise<void> {
    if (commands.length === 0) return;
    if (commands.length === 1) {
      await this.run({ tool, args: commands[0]! });
      return;
    }
    for (const args of commands) {
      if (args.some((a) => a === '' || /[\s"'\\#]/.test(a))) throw new NvoError('internal', `batch argument not plain: ${args.join(' ')}`);
      this.log.push({ tool, args });
    }
    const argv = [...(this.netns === undefined ? [] : ['-n', this.netns]), '-batch', '-'];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(tool, argv, { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, timeout: this.timeoutMs * 10 });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (e) => reject(new CommandError({ tool, args: ['-batch', '-'] }, this.netns, null, e.message)));
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new CommandError({ tool, args: ['-batch', '-'] }, this.netns, code, stderr));
      });
      child.stdin.end(commands.map((a) => a.join(' ')).join('\n') + '\n');
    });
  }

  /** Runs a read command with `-json` and parses its output (an empty output is an empty list). */
  async json<T>(tool: Tool, args: string[]): Promise<T[]> {
    const { stdout } = await this.run({ tool, args: ['-json', ...args] });
    const text = stdout.trim();
    if (text === '') return [];
    try {
      return JSON.parse(text) as T[];
    } catch (e) {
      throw new NvoError('internal', `${tool} ${args.join(' ')}: output is not JSON (${(e as Error).message})`);
    }
  }
}
