// The lab's proxies as processes of their own: `nvo network-proxy` (the BullMQ pipeline with one
// sync worker inside) and `nvo tenant-proxy`, configured from lab/proxies/*.yaml with the lab's own
// shared secret and ports (the files' ports when free). Without the proxy commands the lab runs
// `nvo worker` alone, so devices still follow desired state written by other means.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../../lab/prosody-server.ts';
import { NvoError } from '../errors.ts';
import { canConnect, isAlive, logTail, type LabState, type ProcRecord, type Supervisor } from './supervisor.ts';

export interface ProxyData {
  tenantProxy?: { id: string; url: string; port: number };
  networkProxy?: { id: string; url: string; port: number };
}

const LAB_PROXIES = resolve(import.meta.dirname, '../../lab/proxies');

export async function startProxies(sup: Supervisor, state: LabState, commands: Set<string>, env: NodeJS.ProcessEnv): Promise<string> {
  const have = (state.data.proxies ?? {}) as ProxyData;
  const running = (name: string, port?: number) => {
    const rec = state.processes[name];
    return rec && isAlive(rec) && (port === undefined || (rec.ports ?? []).includes(port));
  };
  const out: string[] = [];
  if (!commands.has('network-proxy') || !commands.has('tenant-proxy')) {
    if (running('worker')) return 'worker running; proxies not available yet (no nvo tenant-proxy / network-proxy command)';
    const r = sup.spawnNvo(state, 'worker', ['worker'], env);
    await waitLog(r, /sync worker \d+ running/, 'worker');
    return `worker started (pid ${r.pid}); proxies not available yet (no nvo tenant-proxy / network-proxy command)`;
  }
  if (state.processes.worker) await sup.stop(state, 'worker'); // the network proxy has its own

  const dir = join(sup.dir, 'proxies');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const np = parse(readFileSync(join(LAB_PROXIES, 'network-proxy.yaml'), 'utf8')) as { id: string; listen: { host: string; port: number }; secretFile?: string; secret?: string };
  const tp = parse(readFileSync(join(LAB_PROXIES, 'tenant-proxy.yaml'), 'utf8')) as { id: string; listen: { host: string; port: number }; networkProxies: Record<string, unknown>[] };
  const secretFile = join(dir, 'np.secret');
  const npRunning = running('network-proxy', have.networkProxy?.port);
  if (!npRunning) {
    if (state.processes['network-proxy']) await sup.stop(state, 'network-proxy');
    writeFileSync(secretFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    const file = join(dir, 'network-proxy.yaml');
    const { r, port } = await spawnListening(sup, state, 'network-proxy', np.listen.port, env, (port) => {
      const cfg = { ...np, listen: { host: '127.0.0.1', port }, secret: undefined, secretFile };
      delete cfg.secret;
      writeFileSync(file, stringify(cfg), { mode: 0o600 });
      return ['network-proxy', '--config', file];
    });
    r.ports = [port];
    have.networkProxy = { id: np.id, url: `ws://127.0.0.1:${port}`, port };
    state.data.proxies = have;
    sup.write(state);
    out.push(`network proxy ${np.id} on 127.0.0.1:${port}`);
  } else out.push(`network proxy ${np.id} running`);

  if (npRunning && running('tenant-proxy', have.tenantProxy?.port)) out.push(`tenant proxy ${tp.id} running`);
  else {
    if (state.processes['tenant-proxy']) await sup.stop(state, 'tenant-proxy');
    const file = join(dir, 'tenant-proxy.yaml');
    const { r, port } = await spawnListening(sup, state, 'tenant-proxy', tp.listen.port, env, (port) => {
      const cfg = { ...tp, listen: { host: '127.0.0.1', port }, networkProxies: [{ id: np.id, url: have.networkProxy!.url, secretFile, pods: ['*'] }] };
      writeFileSync(file, stringify(cfg), { mode: 0o600 });
      return ['tenant-proxy', '--config', file];
    });
    r.ports = [port];
    have.tenantProxy = { id: tp.id, url: `ws://127.0.0.1:${port}`, port };
    state.data.proxies = have;
    sup.write(state);
    out.push(`tenant proxy ${tp.id} on ws://127.0.0.1:${port}`);
  }
  return out.join('; ');
}

async function pickPort(preferred: number): Promise<number> {
  return preferred > 0 && !(await canConnect(preferred)) ? preferred : freePort();
}

// The file's port when free, else any free one. Two labs starting at once (named labs on one
// machine) can both find a port free and race for it: the loser exits with EADDRINUSE and is started
// again on another port.
async function spawnListening(sup: Supervisor, state: LabState, name: string, preferred: number, env: NodeJS.ProcessEnv, args: (port: number) => string[]): Promise<{ r: ProcRecord; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = attempt === 0 ? await pickPort(preferred) : await freePort();
    const r = sup.spawnNvo(state, name, args(port), env);
    try {
      await waitLog(r, /"event":"listening"/, name);
      return { r, port };
    } catch (e) {
      if (attempt >= 3 || isAlive(r) || !/EADDRINUSE/.test(logTail(r.log, 50))) throw e;
      await sup.stop(state, name);
    }
  }
}

async function waitLog(r: ProcRecord, line: RegExp, name: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(r.log!, 'utf8');
    } catch {
      // not written yet
    }
    if (line.test(text)) return;
    if (!isAlive(r)) throw new NvoError('unavailable', `${name} exited at start: ${logTail(r.log)}`);
    if (Date.now() > end) throw new NvoError('timeout', `${name} did not start within ${ms / 1000} s: ${logTail(r.log)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
