// `nvo`: one CLI for the whole control plane. It talks to Redis directly (REDIS_URL, NVO_PREFIX), so
// it works without a running server. Exit codes: 0 done, 2 bad input or usage, 1 anything else.
import { Command, CommanderError } from 'commander';
import { NvoError } from '../errors.ts';
import { describeIssue } from '../model/validate.ts';
import { asNvoError } from '../store/redis-errors.ts';
import { commandGroups } from './commands/index.ts';
import { createContext } from './context.ts';

const ctx = createContext();
const program = new Command('nvo')
  .description('control plane for NVO3 overlays: inventory, proxies, devices')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`nvo: ${text}`) });
for (const register of commandGroups) register(program, ctx);

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const err = e instanceof NvoError ? e : asNvoError(e);
    process.stderr.write(errorText(err));
    return err.code === 'invalid-input' ? 2 : 1;
  } finally {
    await ctx.close().catch(() => undefined);
  }
}

// One line for one issue; with several, the first on the `nvo: error:` line and one indented line for
// each of the others (invalidInput's message lists them all, `; `-separated, after the first).
function errorText(err: NvoError): string {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  const rest = err.issues.slice(1).map(describeIssue);
  if (rest.length === 0) return `nvo: error: ${oneLine(err.message)}\n`;
  const tail = `; ${rest.join('; ')}`;
  const head = err.message.endsWith(tail) ? err.message.slice(0, -tail.length) : err.message;
  return [`nvo: error: ${oneLine(head)}`, ...rest.map((r) => `  ${oneLine(r)}`)].join('\n') + '\n';
}

// Redis is closed by now; exiting outright means a stray timer (ioredis keeps one for ~2 s after a
// failed connect) cannot hold a finished command. stdout and stderr are synchronous for files and pipes.
process.exit(await main());
