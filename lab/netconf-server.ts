// Real NETCONF servers on this machine: N netconfd (yuma123) instances behind one private OpenSSH
// sshd. sshd runs under `unshare --mount` with bind-mounted copies of passwd/shadow/group (adding a
// login user) and a private /run, so the host's /etc and /run stay untouched. Everything lives in
// one temp dir and is stopped by PID. Used by the tests and by `nvo lab up`.
//
//   tsx lab/netconf-server.ts [--count N] [--protocols 1.0|1.1] [--target running]   (Ctrl-C stops)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { descendants, pidAlive as alive } from './process-tree.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const LAB_YANG = resolve(here, 'yang/nvo3-lab.yang');

export interface InstanceOptions {
  /** Limit netconfd to one framing (`--protocols`); both by default. */
  protocols?: '1.0' | '1.1' | 'both';
  /** `running` gives :writable-running and drops :candidate. */
  target?: 'candidate' | 'running';
}

export interface NetconfServerOptions extends InstanceOptions {
  count?: number;
  /** Per-instance options (overrides count); unset fields fall back to the shared ones. */
  instances?: InstanceOptions[];
  /** Extra YANG modules netconfd loads; the lab module always. */
  modules?: string[];
}

export interface NetconfInstance {
  host: string;
  port: number;
  username: string;
  password: string;
  /** `SHA256:<base64>` of sshd's host key, as `ssh-keygen -l` prints it. */
  hostKey: string;
  /** Client keys authorized for the login user (OpenSSH ed25519, PEM RSA). */
  ed25519KeyFile: string;
  rsaKeyFile: string;
  /** A known_hosts file naming this instance. */
  knownHostsFile: string;
  netconfdPid: number;
  dir: string;
}

/** How nvo reaches an instance: the login and its pinned host key (an inventory device's `management`). */
export function managementOf(n: NetconfInstance): { host: string; port: number; username: string; password: string; hostKey: string; hostKeyCheck: 'pinned' } {
  return { host: n.host, port: n.port, username: n.username, password: n.password, hostKey: n.hostKey, hostKeyCheck: 'pinned' };
}

export interface NetconfServers {
  instances: NetconfInstance[];
  dir: string;
  sshdPid: number;
  stop(): Promise<void>;
}

const USER = 'netconf';

export async function startNetconfServers(opts: NetconfServerOptions = {}): Promise<NetconfServers> {
  for (const bin of ['/usr/sbin/netconfd', '/usr/sbin/sshd', '/usr/sbin/netconf-subsystem', '/usr/bin/unshare']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing (Debian packages netconfd, openssh-server, util-linux)`);
  }
  const perInstance = opts.instances ?? Array.from({ length: opts.count ?? 1 }, () => ({}));
  const count = perInstance.length;
  const dir = mkdtempSync(join(tmpdir(), 'nvo-netconf-'));
  chmodSync(dir, 0o755); // the login user's netconf-subsystem must reach the sockets
  const children: ChildProcess[] = [];
  // If the owner exits without stop() (a crashed test run), take the servers down with it.
  const onExit = () => {
    for (const c of children) if (c.pid && alive(c.pid)) process.kill(c.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    for (const c of [...children].reverse()) await killTree(c.pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const password = randomBytes(9).toString('base64url');
    const ports = await freePorts(count);
    const keys = makeKeys(dir);
    writePrivateEtc(dir, password);

    const instances: NetconfInstance[] = [];
    for (let i = 0; i < count; i++) {
      const port = ports[i]!;
      const d = join(dir, `nc${i}`);
      mkdirSync(join(d, 'home/.yuma'), { recursive: true });
      writeFileSync(join(d, 'home/.yuma/startup-cfg-txid.txt'), '1\n');
      writeFileSync(join(d, 'startup-cfg.xml'), '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>\n');
      const args = [
        `--module=${LAB_YANG}`,
        ...(opts.modules ?? []).map((m) => `--module=${m}`),
        `--modpath=${dirname(LAB_YANG)}:/usr/share/yuma/modules`,
        `--ncxserver-sockname=${join(d, 'ncxserver.sock')}`,
        `--port=${port}`,
        `--startup=${join(d, 'startup-cfg.xml')}`,
        `--superuser=${USER}`,
        `--log=${join(d, 'netconfd.log')}`,
        '--log-level=warn',
      ];
      const o = { ...opts, ...perInstance[i] };
      if (o.protocols === '1.0') args.push('--protocols=netconf1.0');
      if (o.protocols === '1.1') args.push('--protocols=netconf1.1');
      if (o.target === 'running') args.push('--target=running');
      const child = spawn('/usr/sbin/netconfd', args, { env: { ...process.env, HOME: join(d, 'home') }, stdio: 'ignore', detached: true });
      children.push(child);
      await waitFor(() => existsSync(join(d, 'ncxserver.sock')), 10_000, () => `netconfd ${i} did not create its socket (${tail(join(d, 'netconfd.log'))})`);
      chmodSync(join(d, 'ncxserver.sock'), 0o777);
      instances.push({
        host: '127.0.0.1',
        port,
        username: USER,
        password,
        hostKey: keys.hostKey,
        ed25519KeyFile: keys.ed25519,
        rsaKeyFile: keys.rsa,
        knownHostsFile: join(dir, 'known_hosts'),
        netconfdPid: child.pid!,
        dir: d,
      });
    }
    writeFileSync(join(dir, 'known_hosts'), instances.map((n) => `[127.0.0.1]:${n.port} ${keys.hostPub}\n`).join(''));
    writeFileSync(join(dir, 'sshd_config'), sshdConfig(dir, ports, instances));
    const script = [
      'set -e',
      ...['passwd', 'shadow', 'group'].map((f) => `mount --bind ${dir}/etc/${f} /etc/${f}`),
      'mount -t tmpfs -o mode=0755 nvo-run /run',
      'mkdir -p /run/sshd',
      `exec /usr/sbin/sshd -D -f ${dir}/sshd_config -E ${dir}/sshd.log`,
    ].join('\n');
    const sshd = spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], { stdio: 'ignore', detached: true });
    children.unshift(sshd); // stopped last: netconfd first ends the sessions
    for (const port of ports) {
      await waitFor(() => canConnect(port), 10_000, () => `sshd does not listen on ${port} (${tail(join(dir, 'sshd.log'))})`);
    }
    return { instances, dir, sshdPid: sshd.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function sshdConfig(dir: string, ports: number[], instances: NetconfInstance[]): string {
  const socks = instances.map((n) => `--ncxserver-sockname=${n.port}@${join(n.dir, 'ncxserver.sock')}`).join(' ');
  return [
    ...ports.map((p) => `Port ${p}`),
    'ListenAddress 127.0.0.1',
    `HostKey ${dir}/ssh_host_ed25519_key`,
    `PidFile ${dir}/sshd.pid`,
    'UsePAM no',
    'PasswordAuthentication yes',
    'PubkeyAuthentication yes',
    'KbdInteractiveAuthentication no',
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    'StrictModes no',
    'PermitRootLogin no',
    `AllowUsers ${USER}`,
    'MaxStartups 200:30:400',
    'MaxSessions 200',
    'UseDNS no',
    'LogLevel ERROR',
    `Subsystem netconf /usr/sbin/netconf-subsystem ${socks}`,
    '',
  ].join('\n');
}

function makeKeys(dir: string) {
  const gen = (file: string, ...args: string[]) => execFileSync('ssh-keygen', ['-q', '-N', '', '-C', 'nvo-lab', '-f', file, ...args], { stdio: 'ignore' });
  gen(join(dir, 'ssh_host_ed25519_key'), '-t', 'ed25519');
  gen(join(dir, 'client_ed25519'), '-t', 'ed25519');
  gen(join(dir, 'client_rsa'), '-t', 'rsa', '-b', '2048', '-m', 'PEM');
  const pub = (f: string) => readFileSync(`${f}.pub`, 'utf8').trim();
  writeFileSync(join(dir, 'authorized_keys'), `${pub(join(dir, 'client_ed25519'))}\n${pub(join(dir, 'client_rsa'))}\n`);
  const hostPub = pub(join(dir, 'ssh_host_ed25519_key')).split(' ').slice(0, 2).join(' ');
  const blob = Buffer.from(hostPub.split(' ')[1]!, 'base64');
  const hostKey = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { hostKey, hostPub, ed25519: join(dir, 'client_ed25519'), rsa: join(dir, 'client_rsa') };
}

// Copies of the host's account files plus the NETCONF login user; bind-mounted only inside sshd's
// mount namespace.
function writePrivateEtc(dir: string, password: string) {
  mkdirSync(join(dir, 'etc'));
  const home = join(dir, 'home-user');
  mkdirSync(home, { mode: 0o755 });
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n` }).toString().trim();
  const lines = (f: string) => readFileSync(`/etc/${f}`, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${USER}:`));
  const used = new Set(lines('passwd').map((l) => l.split(':')[2]));
  let uid = 64_100;
  while (used.has(String(uid))) uid++;
  writeFileSync(join(dir, 'etc/passwd'), [...lines('passwd'), `${USER}:x:${uid}:${uid}:nvo lab NETCONF:${home}:/bin/sh`, ''].join('\n'));
  writeFileSync(join(dir, 'etc/shadow'), [...lines('shadow'), `${USER}:${hash}:19000:0:99999:7:::`, ''].join('\n'), { mode: 0o600 });
  writeFileSync(join(dir, 'etc/group'), [...lines('group'), `${USER}:x:${uid}:`, ''].join('\n'));
}

async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  let p = 20_000 + Math.floor(Math.random() * 9_000);
  while (out.length < n) {
    if (await isFree(p)) out.push(p);
    p++;
  }
  return out;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, why: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(why());
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return 'no log';
  }
}


async function killTree(pid: number | undefined): Promise<void> {
  if (!pid) return;
  const pids = descendants(pid);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGTERM');
  const end = Date.now() + 3_000;
  while (pids.some(alive) && Date.now() < end) await sleep(20);
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
  while (pids.some(alive) && Date.now() < end + 2_000) await sleep(20);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const servers = await startNetconfServers({
    count: Number(arg('count') ?? 1),
    protocols: (arg('protocols') as NetconfServerOptions['protocols']) ?? 'both',
    target: (arg('target') as NetconfServerOptions['target']) ?? 'candidate',
  });
  console.log(JSON.stringify(servers.instances, null, 2));
  const bye = () => void servers.stop().then(() => process.exit(0));
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
}
