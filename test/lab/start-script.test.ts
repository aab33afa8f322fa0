// The README's first command, `npm start` (scripts/start.sh), run by a user who is not root: it must
// say in one line that the lab needs root and stop before it installs, starts or builds anything.
// Runs as `nobody` through runuser, so it needs root itself; skips with the reason otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const why =
  process.getuid?.() !== 0
    ? 'needs root to run the script as another user'
    : spawnSync('id', ['-u', 'nobody']).status !== 0
      ? 'no user nobody on this machine'
      : spawnSync('which', ['runuser']).status !== 0
        ? 'runuser is missing'
        : null;
if (why) console.log(`skipping the npm start (not root) test: ${why}`);

const base = mkdtempSync(join(tmpdir(), 'nvo-start-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const namespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

describe.skipIf(why !== null)('npm start as a user who is not root', () => {
  it('stops at once with one clear line and changes nothing', () => {
    const stateDir = join(base, 'state');
    const before = namespaces();
    const r = spawnSync('runuser', ['-u', 'nobody', '--', 'bash', join(ROOT, 'scripts/start.sh')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NVO_STATE_DIR: stateDir, REDIS_URL: 'redis://127.0.0.1:1' },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(1);
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^nvo: error: the lab needs root: .*sudo npm start/)]);
    expect(existsSync(stateDir)).toBe(false);
    expect(namespaces()).toBe(before);
  });
});
