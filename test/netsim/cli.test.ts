// `nvo netsim start` leaves a background fleet behind (src/netsim/main.ts run) that `status` and
// `fail` reach and `stop` takes away completely (no process, no state file). Run through bin/nvo.js,
// as users run it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as op from '../../src/drivers/netconf/operations.ts';
import { NetconfSession } from '../../src/drivers/netconf/rpc.ts';
import { isNetsimProcess, readState, stopBackground } from '../../src/netsim/process.ts';
import { eventually, vlans } from './support.ts';
import { runNvo } from '../support/nvo-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nvo-netsim-cli-'));

const netsim = (...args: string[]) => runNvo(['netsim', ...args]);

afterAll(async () => {
  await stopBackground(dir); // only if a test failed half-way
  rmSync(dir, { recursive: true, force: true });
});

describe('nvo netsim start/status/fail/stop', () => {
  it('runs a fleet in the background and stops it leaving nothing behind', async () => {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const start = await netsim('start', '--devices', '3', '--base-port', String(base), '--commit-delay', '50', '--protocols', 'base:1.1', '--fail', 'refuse-commit:resource-denied@' + String(base + 1), '--state-dir', dir, '--json');
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    const state = JSON.parse(start.stdout) as { pid: number; basePort: number; devices: number; hostKeys: Record<string, string>; username: string; password: string };
    expect(state).toMatchObject({ basePort: base, devices: 3 });
    expect(isNetsimProcess(state.pid)).toBe(true);

    const st = await netsim('status', '--state-dir', dir, '--json');
    const status = JSON.parse(st.stdout) as { devices: { port: number; commitDelayMs: number; faults: { refuseCommit: number } }[]; protocols: string[] };
    expect(status.protocols).toEqual(['base:1.1']);
    expect(status.devices.map((d) => [d.port, d.commitDelayMs, d.faults.refuseCommit])).toEqual([
      [base, 50, 0],
      [base + 1, 50, 1],
      [base + 2, 50, 0],
    ]);
    expect((await netsim('status', '--state-dir', dir)).stdout).toMatch(new RegExp(`${base + 1}\\s.*refuse-commit×1`));

    // the armed fault and the device are real: nvo's client commits against it
    const s = await NetconfSession.open({ host: '127.0.0.1', port: base + 1, username: state.username, password: state.password, hostKeyCheck: 'pinned', hostKey: state.hostKeys[String(base + 1)] });
    await op.editConfig(s, { target: 'candidate', config: vlans(42) });
    await expect(op.commit(s)).rejects.toMatchObject({ errors: [{ tag: 'resource-denied' }] });
    expect((await netsim('fail', '--device', String(base + 1), '--kind', 'drop-session', '--state-dir', dir)).code).toBe(0);
    await expect(op.commit(s)).rejects.toMatchObject({ netconfCode: 'session-lost' });

    const bad = await netsim('fail', '--device', '1', '--kind', 'drop-session', '--state-dir', dir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('no device on port 1');

    const again = await netsim('start', '--devices', '1', '--base-port', String(base), '--state-dir', dir);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already running');

    const stop = await netsim('stop', '--state-dir', dir);
    expect(stop.stdout).toContain('netsim stopped');
    await eventually('the netsim process is gone', () => !existsSync(`/proc/${state.pid}`) || readFileSync(`/proc/${state.pid}/stat`, 'utf8').split(' ')[2] === 'Z');
    expect(readState(dir)).toBeNull();
    expect((await netsim('stop', '--state-dir', dir)).stdout).toContain('not running');
    expect((await netsim('status', '--state-dir', dir)).code).not.toBe(0);
  });

  it('rejects bad options naming them, and starts nothing', async () => {
    const r = await netsim('start', '--devices', '0', '--base-port', '20000', '--state-dir', dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--devices must be a whole number 1..10000');
    const p = await netsim('start', '--devices', '1', '--base-port', '20000', '--protocols', 'base:2.0', '--state-dir', dir);
    expect(p.stderr).toContain("'base:2.0' is not base:1.0 or base:1.1");
    expect(readState(dir)).toBeNull();
  });
});
