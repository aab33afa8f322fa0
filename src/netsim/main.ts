// `nvo netsim` on its own, until the nvo CLI registers it:  tsx src/netsim/main.ts start|stop|status|fail|set|run ...
// It is also what `nvo netsim start` launches in the background (`run`).
import { netsimCommand } from '../cli/commands/netsim.ts';
import { NvoError } from '../errors.ts';

try {
  await netsimCommand().parseAsync(process.argv);
} catch (err) {
  console.error(`nvo netsim: ${(err as Error).message}`);
  process.exitCode = err instanceof NvoError && err.code === 'invalid-input' ? 2 : 1;
}
process.exit(); // nothing may hold a finished command (the fleet of `run` is closed by now)
