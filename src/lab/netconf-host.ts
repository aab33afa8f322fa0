// `nvo lab _run netconf`: holds the lab's netconfd instances and their private sshd
// (lab/netconf-server.ts), which die with their owner, so the owner is this long-lived process and
// not `nvo lab up`. Their files go under the lab's state dir (TMPDIR), so every process they start
// names that dir on its command line and a sweep finds them after a crash.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import type { NetconfInstance } from '../../lab/netconf-server.ts';

export interface NetconfReady {
  instances: NetconfInstance[];
  sshdPid: number;
  dir: string;
}

export async function runNetconfHost(o: { dir: string; count: number; readyFile: string }): Promise<void> {
  mkdirSync(o.dir, { recursive: true });
  // netconf-subsystem runs as the lab's unprivileged login user and must reach the sockets under here.
  chmodSync(o.dir, 0o755);
  process.env.TMPDIR = o.dir; // os.tmpdir() reads it on every call
  const { startNetconfServers } = await import('../../lab/netconf-server.ts');
  const servers = await startNetconfServers({ count: o.count });
  const ready: NetconfReady = { instances: servers.instances, sshdPid: servers.sshdPid, dir: servers.dir };
  writeFileSync(o.readyFile, JSON.stringify(ready), { mode: 0o600 });
  process.stderr.write(`netconf host ${process.pid}: ${servers.instances.map((i) => i.port).join(', ')} on 127.0.0.1\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void servers.stop().then(resolve, resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
