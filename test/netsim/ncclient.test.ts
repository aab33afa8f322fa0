// python3-ncclient against netsim: an independent client keeps the simulator honest (hello and
// both framings, edit/commit/read-back, lock contention, confirmed-commit rollbacks, rpc-error
// fields, the commit delay and both injected faults).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type ControlServer } from '../../src/netsim/control.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { testFleet } from './support.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PY = '/usr/bin/python3';
const haveNcclient = existsSync(PY) && existsSync('/usr/lib/python3/dist-packages/ncclient');
if (!haveNcclient) console.warn('skipping the ncclient tests: Debian python3-ncclient is not installed (scripts/test.sh installs it)');

type Seen = Record<string, Record<string, unknown>>;
let fleet: Fleet;
let only10: Fleet;
let ctl: ControlServer;
let seen: Seen;

beforeAll(async () => {
  if (!haveNcclient) return;
  fleet = await testFleet({ devices: 10 });
  only10 = await testFleet({ devices: 1, protocols: ['1.0'] });
  ctl = await startControl(fleet, 0, () => undefined);
  const p = fleet.ports;
  // scenario order in ncclient-check.py: hello, hello10, then one device each
  const ports = [p[0]!, only10.ports[0]!, ...p.slice(1, 9)];
  const { stdout } = await promisify(execFile)(PY, [join(here, 'ncclient-check.py'), ctl.url, fleet.host, fleet.username, fleet.password, ...ports.map(String)], { timeout: 100_000 });
  seen = JSON.parse(stdout) as Seen;
}, 120_000);
afterAll(async () => {
  await ctl?.close();
  await fleet?.stop();
  await only10?.stop();
});

describe.skipIf(!haveNcclient)('python3-ncclient against netsim', () => {
  it('gets the hello with every capability and chunked framing, or end-of-message framing from a base:1.0 device', () => {
    expect(seen.hello).toMatchObject({ base11: true });
    expect(seen.hello!.session_id).toMatch(/^\d+$/);
    expect(seen.hello!.capabilities).toEqual(
      expect.arrayContaining([
        'urn:ietf:params:netconf:base:1.0',
        'urn:ietf:params:netconf:base:1.1',
        'urn:ietf:params:netconf:capability:candidate:1.0',
        'urn:ietf:params:netconf:capability:confirmed-commit:1.1',
        'urn:ietf:params:netconf:capability:validate:1.1',
        'urn:ietf:params:netconf:capability:rollback-on-error:1.0',
      ]),
    );
    expect(seen.hello10).toEqual({ base11: false, running: [10] });
  });

  it('edits the candidate under a lock, commits and reads the running datastore back', () => {
    expect(seen.edit_commit_readback).toEqual({ before: [], after: [10, 20] });
  });

  it('sees lock-denied naming the holder session', () => {
    const l = seen.lock_contention as { holder: string; denied: { tag: string; info: string; message: string } };
    expect(l.denied.tag).toBe('lock-denied');
    expect(l.denied.info).toContain(`<session-id>${l.holder}</session-id>`);
    expect(l.denied.message).toContain(`session ${l.holder}`);
  });

  it('sees a confirmed commit rolled back on timeout and when its session closes', () => {
    expect(seen.confirmed_timeout).toEqual({ during: [1, 2], rolled_back: true, after: [1] });
    expect(seen.confirmed_close).toEqual({ during: [3], rolled_back: true });
  });

  it('reads every rpc-error field of VLAN 5000', () => {
    const e = (seen.rpc_error as { error: Record<string, string> }).error;
    expect(e).toMatchObject({ type: 'application', tag: 'invalid-value', severity: 'error', app_tag: 'not-in-range', path: "/nc:rpc/nc:edit-config/nc:config/nvo:nvo/nvo:vlan[nvo:id='5000']/nvo:id", message: 'value 5000 not in range 1..4094' });
    expect(e.info).toContain('<bad-value>5000</bad-value>');
  });

  it('waits out the commit delay', () => {
    expect((seen.commit_delay as { seconds: number }).seconds).toBeGreaterThanOrEqual(0.49);
  });

  it('gets the injected commit refusal, with nothing applied, then a working commit', () => {
    expect(seen.refuse_commit).toMatchObject({ refused: { tag: 'in-use', type: 'application', message: 'commit in progress' }, running_after_refusal: [], running_after_retry: [8] });
  });

  it('loses the session on the injected drop, and the next session works', () => {
    expect(seen.drop_session).toMatchObject({ dropped: true, next_session_works: true });
  });
});
