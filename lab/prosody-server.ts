// A private Prosody for tests and `nvo lab up`: its own config file, data directory and c2s port on
// 127.0.0.1, started in the foreground as our child and stopped by its PID. Nothing of the host's
// Prosody (/etc/prosody, its service, its port 5222) is touched.
//
// PLAIN authentication without TLS is allowed on purpose: it only ever listens on loopback, and SCRAM
// costs ~1 s of CPU per login on this machine (lab-facts), which a reconnect-heavy test cannot afford.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidAlive as alive } from './process-tree.ts';

const run = promisify(execFile);

export interface ProsodyOptions {
  /** XMPP domain of the single virtual host. */
  domain?: string;
  /** c2s port on 127.0.0.1; a free one is picked when absent. */
  port?: number;
  /** Directory for config, data, log and pid; a fresh temporary one when absent (and removed by destroy). */
  dir?: string;
  /**
   * Keep the server running after this process exits (`nvo lab up`); stop it later with
   * stopProsodyByPidFile(dir). By default the server dies with its owner (tests).
   */
  detach?: boolean;
}

export interface ProsodyServer {
  readonly domain: string;
  readonly port: number;
  readonly dir: string;
  /** `xmpp://127.0.0.1:PORT`, the service URL @xmpp/client takes. */
  readonly service: string;
  readonly pid: number | undefined;
  register(user: string, password: string): Promise<string>;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and removes its directory when we created it. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid Lua string literal for these paths
}

function configText(o: { domain: string; port: number; dir: string }): string {
  const d = (p: string) => luaString(join(o.dir, p));
  return `-- written by nvo lab/prosody-server.ts; private to this instance
run_as_root = true
daemonize = false
pidfile = ${d('prosody.pid')}
data_path = ${d('data')}
certificates = ${d('certs')}
log = { { levels = { min = "info" }, to = "file", filename = ${d('prosody.log')} } }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { ${o.port} }
c2s_direct_tls_ports = { }
s2s_ports = { }
s2s_interfaces = { }
modules_enabled = { "saslauth" }
modules_disabled = { "s2s", "offline" }
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
VirtualHost ${luaString(o.domain)}
`;
}

async function waitListening(port: number, child: ChildProcess, log: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = await readFile(log, 'utf8').catch(() => '');
      throw new Error(`prosody exited (${child.exitCode ?? child.signalCode}) before listening on ${port}: ${tail.slice(-800)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`prosody did not listen on 127.0.0.1:${port} within ${ms} ms (see ${log})`);
}

export async function createProsody(opts: ProsodyOptions = {}): Promise<ProsodyServer> {
  const domain = opts.domain ?? 'nvo3.test';
  const port = opts.port ?? (await freePort());
  const ownDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'nvo-prosody-')));
  const config = join(dir, 'prosody.cfg.lua');
  const log = join(dir, 'prosody.log');
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'certs'), { recursive: true });
  await writeFile(config, configText({ domain, port, dir }));

  let child: ChildProcess | null = null;
  // If the owner exits without destroy() (a crashed test run), take the server down with it.
  const onExit = () => {
    if (child?.pid && child.exitCode === null) child.kill('SIGKILL');
  };
  if (!opts.detach) process.once('exit', onExit);

  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const server: ProsodyServer = {
    domain,
    port,
    dir,
    service: `xmpp://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    async register(user, password) {
      // prosodyctl writes the account into data_path directly; it works whether or not the server runs.
      await run('prosodyctl', ['--config', config, 'register', user, domain, password], { timeout: 30_000 });
      return `${user}@${domain}`;
    },
    async start() {
      if (child) return;
      const c = spawn('prosody', ['-F', '--config', config], { stdio: ['ignore', 'ignore', opts.detach ? 'ignore' : 'pipe'], detached: !!opts.detach });
      let stderr = '';
      c.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
      if (opts.detach) c.unref();
      child = c;
      try {
        await waitListening(port, c, log);
      } catch (e) {
        await stop();
        throw new Error(`${(e as Error).message}${stderr ? `\nstderr: ${stderr}` : ''}`);
      }
    },
    stop,
    async restart() {
      await stop();
      await server.start();
    },
    async destroy() {
      process.off('exit', onExit);
      await stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}


/**
 * Stops a server started with `detach` from another process: by the PID in its pidfile, and only when
 * that PID still runs prosody with this directory's config (a PID can be reused). True when one was stopped.
 */
export async function stopProsodyByPidFile(dir: string): Promise<boolean> {
  const pid = Number((await readFile(join(dir, 'prosody.pid'), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return false;
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  if (!cmdline.some((a) => a.endsWith('prosody')) || !cmdline.includes(join(dir, 'prosody.cfg.lua'))) return false;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return true;
}
