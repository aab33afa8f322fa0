// lab/prosody-server.ts: a private Prosody starts on its own port, restarts with its accounts, and
// stops by PID leaving neither a process nor a directory behind; a detached one is stopped from its
// pidfile by a process that did not start it.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProsody, stopProsodyByPidFile } from '../../../lab/prosody-server.ts';
import { createXmppClient } from '../../../src/drivers/xmpp/connect.ts';
import { waitFor } from './lab.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('lab Prosody', () => {
  it('serves registered accounts across a restart and leaves nothing behind', async () => {
    const p = await createProsody();
    await p.register('gw1', 'secret');
    await p.start();
    const pid1 = p.pid!;
    expect(await listening(p.port)).toBe(true);
    await p.restart();
    expect(alive(pid1)).toBe(false);
    const c = createXmppClient({ service: p.service, jid: 'gw1@nvo3.test', password: 'secret' }, 'test');
    await c.start();
    expect(c.jid?.toString()).toBe('gw1@nvo3.test/test');
    c.reconnect.stop();
    await c.stop();
    const pid2 = p.pid!;
    await p.destroy();
    expect(alive(pid2)).toBe(false);
    expect(await listening(p.port)).toBe(false);
    expect(existsSync(p.dir)).toBe(false);
  });

  it('keeps a detached server for `nvo lab up` and stops it by its pidfile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nvo-prosody-test-'));
    try {
      const p = await createProsody({ dir, detach: true });
      await p.start();
      const pid = p.pid!;
      await waitFor('the pidfile', () => existsSync(join(dir, 'prosody.pid')));
      expect(await stopProsodyByPidFile(join(dir, 'nonexistent'))).toBe(false);
      expect(await stopProsodyByPidFile(dir)).toBe(true);
      expect(alive(pid)).toBe(false);
      expect(await listening(p.port)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
