// Whether this machine lets a test make network namespaces (root, a working `ip netns`), and ping them.
import { spawnSync } from 'node:child_process';

/** Why namespace tests cannot run here, or null. `ping`: the test also needs iputils-ping. */
export function netnsSkipReason(o: { ping?: boolean } = {}): string | null {
  if (process.getuid?.() !== 0) return 'it needs root to create network namespaces';
  const r = spawnSync('ip', ['netns', 'list']);
  if (r.error || r.status !== 0) return `'ip netns' does not work here (${r.error?.message ?? r.stderr.toString().trim()})`;
  if (o.ping && spawnSync('ping', ['-V']).error) return 'ping (iputils-ping) is not installed';
  return null;
}
