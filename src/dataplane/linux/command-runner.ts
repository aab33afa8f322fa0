// Runs iproute2's `ip` and `bridge` inside one network namespace. Never through a shell: every
// argument is its own argv element, so a name can never become a second command. State is read with
// `-json`, so parsing does not depend on iproute2's human output, which changes between releases.
import { execFile } from 'node:child_process';
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
