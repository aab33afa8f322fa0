// `nvo lab up`: builds the lab step by step, one progress line each. Every step first checks what is
// already there and keeps it when healthy, so a second `up` is harmless; what is missing or broken
// is removed and built again (with what depends on it), so an `up` killed halfway is recovered by
// the next one. Processes are recorded in the state dir before they are waited for.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createProsody, freePort } from '../../lab/prosody-server.ts';
import { NvoError } from '../errors.ts';
import type { InventoryStore } from '../store/inventory-store.ts';
import { NveStore } from '../store/nve-store.ts';
import { hnveSchema } from '../model/hnve.ts';
import type { ApplierConfig } from './device-applier.ts';
import type { GatewayHostConfig } from './gateway-host.ts';
import type { NetconfReady } from './netconf-host.ts';
import { startHnveAgents } from './hnve-agents.ts';
import { startProxies } from './proxies.ts';
import { buildNetwork, checkNetwork, networkPlan, removeNamespaces } from './network.ts';
import { canConnect, descendants, isAlive, killPids, startTime, Supervisor, type LabState } from './supervisor.ts';
import type { Topology } from './topology.ts';
import { managementOf } from '../../lab/netconf-server.ts';

export interface LabContext {
  topology: Topology;
  sup: Supervisor;
  store: () => Promise<InventoryStore>;
  progress: (line: string) => void;
  /** Process names of `nvo` commands that exist (the proxies join when theirs do). */
  commands: Set<string>;
}

export interface XmppData {
  service: string;
  port: number;
  domain: string;
  controller: { jid: string; password: string };
  agents: Record<string, { jid: string; password: string }>;
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new NvoError('forbidden', 'nvo lab needs root: it creates network namespaces and veth links (run it with sudo)');
}

export function emptyState(t: Topology): LabState {
  return { name: t.name, topology: t.file, namespaces: [], processes: {}, data: {} };
}

export async function labUp(c: LabContext): Promise<{ seconds: number; state: LabState }> {
  requireRoot();
  const t0 = performance.now();
  const { sup } = c;
  const fresh = !existsSync(sup.dir);
  const unlock = sup.lock();
  try {
    return await build(c, t0);
  } catch (e) {
    // Refused before anything was built (no Redis, another lab's state): leave no state dir behind.
    const st = sup.read();
    if (fresh && (!st || (st.namespaces.length === 0 && Object.keys(st.processes).length === 0))) rmSync(sup.dir, { recursive: true, force: true });
    throw e;
  } finally {
    unlock();
  }
}

async function build(c: LabContext, t0: number): Promise<{ seconds: number; state: LabState }> {
  const { topology: t, sup } = c;
  const state = sup.read() ?? emptyState(t);
  if (state.name !== t.name) throw new NvoError('conflict', `${sup.dir} holds lab '${state.name}'; run nvo lab down for it first`);
  state.topology = t.file;
  const plan = networkPlan(t);
  const step = async (what: string, fn: () => Promise<string>) => {
    const s0 = performance.now();
    const detail = await fn();
    c.progress(`${what.padEnd(28)} ${detail} (${((performance.now() - s0) / 1000).toFixed(1)} s)`);
  };

  // Redis first: without it nothing else is worth building.
  await step('redis', async () => {
    const store = await c.store();
    await store.redis.ping().catch((e: Error) => {
      throw new NvoError('unavailable', `no Redis answers at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'} (${e.message}); start one (scripts/lib/setup.sh ensure_redis)`);
    });
    return `answers (prefix '${store.k.prefix}')`;
  });
  sup.write(state);

  // Leftovers of an `up` killed halfway: processes that name our state dir but that no live record owns.
  const owned = new Set(Object.values(state.processes).filter(isAlive).flatMap((r) => descendants(r.pid)));
  const strays = sup.strays().filter((p) => !owned.has(p));
  if (strays.length) {
    await killPids(strays);
    c.progress(`${'leftovers'.padEnd(28)} stopped ${strays.length} process${strays.length > 1 ? 'es' : ''} of an earlier run`);
  }

  let netRebuilt = false;
  await step('namespaces and links', async () => {
    const check = await checkNetwork(plan);
    if (check.missing.length === 0) return `${plan.namespaces.length} namespaces already up`;
    await removeNamespaces(new Set([...state.namespaces, ...plan.namespaces.map((n) => n.name)]));
    state.namespaces = [];
    await buildNetwork(plan, (ns) => {
      state.namespaces.push(ns);
      sup.write(state);
    });
    netRebuilt = true;
    return `${plan.namespaces.length} namespaces, ${plan.commands.filter((x) => x.includes('veth')).length} veth links`;
  });

  const netconfDevices = t.devices.filter((id) => t.inv.devices.find((d) => d.id === id)!.driver === 'netconf');
  let netconfRestarted = false;
  await step('netconfd + sshd', async () => {
    const have = state.data.netconf as NetconfReady | undefined;
    const rec = state.processes.netconf;
    if (rec && isAlive(rec) && have && have.instances.length === netconfDevices.length && (await allConnect(have.instances.map((i) => i.port)))) {
      return `${have.instances.length} instances already up`;
    }
    if (rec) await sup.stop(state, 'netconf');
    rmSync(sup.netconfDir, { recursive: true, force: true });
    const r = sup.spawnNvo(state, 'netconf', ['lab', '_run', 'netconf', '--state-dir', sup.dir, '--dir', sup.netconfDir, '--count', String(netconfDevices.length), '--ready', sup.readyFile('netconf')]);
    const ready = await sup.waitReady<NetconfReady>('netconf', r, 60_000);
    state.data.netconf = ready;
    state.processes.netconf = { ...r, ports: ready.instances.map((i) => i.port) };
    sup.write(state);
    netconfRestarted = true;
    return `${netconfDevices.map((d, i) => `${d}:${ready.instances[i]!.port}`).join(' ')}`;
  });

  const xmppDevices = t.devices.filter((id) => t.inv.devices.find((d) => d.id === id)!.driver === 'xmpp');
  await step('prosody + accounts', async () => {
    let x = state.data.xmpp as XmppData | undefined;
    const rec = state.processes.prosody;
    if (rec && isAlive(rec) && x && (await canConnect(x.port))) return `already up on 127.0.0.1:${x.port}`;
    if (rec) await sup.stop(state, 'prosody');
    const pw = () => randomBytes(12).toString('base64url');
    const port = x && !(await canConnect(x.port)) ? x.port : await freePort();
    const domain = t.xmpp.domain;
    x = {
      service: `xmpp://127.0.0.1:${port}`,
      port,
      domain,
      controller: x?.controller ?? { jid: `${t.xmpp.controller}@${domain}`, password: pw() },
      agents: Object.fromEntries(xmppDevices.map((id) => [id, x?.agents[id] ?? { jid: t.inv.devices.find((d) => d.id === id)!.jid!, password: pw() }])),
    };
    const dir = join(sup.dir, 'prosody');
    mkdirSync(dir, { recursive: true });
    const server = await createProsody({ dir, port, domain, detach: true });
    for (const login of [x.controller, ...Object.values(x.agents)]) await server.register(login.jid.split('@')[0]!, login.password);
    await server.start();
    state.processes.prosody = { pid: server.pid!, start: startTime(server.pid!) ?? 0, what: `prosody --config ${join(dir, 'prosody.cfg.lua')}`, log: join(dir, 'prosody.log'), ports: [port] };
    state.data.xmpp = x;
    sup.write(state);
    return `127.0.0.1:${port}, ${1 + xmppDevices.length} accounts (${x.controller.jid}, ${Object.values(x.agents).map((a) => a.jid).join(', ')})`;
  });

  await step('lab device appliers', async () => {
    const nc = state.data.netconf as NetconfReady;
    const started: string[] = [];
    const waits = netconfDevices.map(async (id, i) => {
      const name = `applier-${id}`;
      const rec = state.processes[name];
      if (rec && isAlive(rec) && existsSync(sup.readyFile(name)) && !netRebuilt && !netconfRestarted) return;
      if (rec) await sup.stop(state, name);
      const inst = nc.instances[i]!;
      const cfg: ApplierConfig = {
        device: id,
        netns: plan.nodeNs[id]!,
        vtep: t.inv.devices.find((d) => d.id === id)!.vtep,
        dialect: 'nvo3-lab',
        session: managementOf(inst),
        attachments: plan.attachments.filter((a) => a.device === id).map(({ port, vni, vrf }) => ({ port, vni, vrf })),
        readyFile: sup.readyFile(name),
      };
      const file = writeConfig(sup, name, cfg);
      const r = sup.spawnNvo(state, name, ['lab', '_run', 'applier', '--state-dir', sup.dir, '--config', file]);
      started.push(id);
      await sup.waitReady(name, r, 60_000);
    });
    await Promise.all(waits);
    return started.length ? `${started.join(', ')} following netconfd` : `${netconfDevices.length} already running`;
  });

  await step('gateway agents', async () => {
    const x = state.data.xmpp as XmppData;
    const started: string[] = [];
    await Promise.all(
      xmppDevices.map(async (id) => {
        const name = `gateway-${id}`;
        const rec = state.processes[name];
        if (rec && isAlive(rec) && existsSync(sup.readyFile(name)) && !netRebuilt) return;
        if (rec) await sup.stop(state, name);
        const cfg: GatewayHostConfig = {
          device: id,
          netns: plan.nodeNs[id]!,
          vtep: t.inv.devices.find((d) => d.id === id)!.vtep,
          jid: x.agents[id]!.jid,
          password: x.agents[id]!.password,
          service: x.service,
          controller: x.controller.jid,
          readyFile: sup.readyFile(name),
        };
        const r = sup.spawnNvo(state, name, ['lab', '_run', 'gateway', '--state-dir', sup.dir, '--config', writeConfig(sup, name, cfg)]);
        started.push(id);
        await sup.waitReady(name, r, 60_000);
      }),
    );
    return started.length ? `${started.join(', ')} online at ${x.service}` : `${xmppDevices.length} already running`;
  });

  await step('inventory', async () => {
    const doc = labInventory(t, state);
    writeFileSync(join(sup.dir, 'inventory.yaml'), stringify(doc), { mode: 0o600 });
    const store = await c.store();
    const changes = await store.apply(doc);
    const hnves = await provisionHypervisors(t, state, store);
    sup.write(state);
    const what = [changes.length ? `${changes.length} change${changes.length > 1 ? 's' : ''} applied (the lab's management ports and host keys)` : 'already applied', hnves ? `${hnves} hNVE${hnves > 1 ? 's' : ''} provisioned` : ''];
    return what.filter(Boolean).join(', ');
  });

  await step('proxies and workers', async () => {
    const x = state.data.xmpp as XmppData;
    return startProxies(sup, state, c.commands, { NVO_XMPP_SERVICE: x.service, NVO_XMPP_JID: x.controller.jid, NVO_XMPP_PASSWORD: x.controller.password });
  });

  await step('hNVE agents', () => startHnveAgents(sup, state, t, plan, c.commands, netRebuilt));

  return { seconds: (performance.now() - t0) / 1000, state };
}

/** lab/inventory.yaml with the lab's real management: the ports, login and pinned host keys of its netconfd instances. */
export function labInventory(t: Topology, state: LabState): Record<string, unknown> {
  const nc = state.data.netconf as NetconfReady | undefined;
  const netconfDevices = t.devices.filter((id) => t.inv.devices.find((d) => d.id === id)!.driver === 'netconf');
  const doc = structuredClone(t.inventoryDoc);
  for (const d of (doc.devices ?? []) as Record<string, unknown>[]) {
    const i = netconfDevices.indexOf(d.id as string);
    const inst = nc?.instances[i];
    if (i < 0 || !inst) continue;
    d.management = managementOf(inst);
  }
  return doc;
}

function writeConfig(sup: Supervisor, name: string, cfg: object): string {
  mkdirSync(join(sup.dir, 'run'), { recursive: true });
  const file = join(sup.dir, 'run', `${name}.json`);
  writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  return file;
}

async function allConnect(ports: number[]): Promise<boolean> {
  return (await Promise.all(ports.map((p) => canConnect(p)))).every(Boolean);
}

// Use case 3's provisioning of the hypervisors, so their hNVE agents can REGISTER: each gets a secret
// of its own, kept in the state dir and reused by the next `up`.
async function provisionHypervisors(t: Topology, state: LabState, store: InventoryStore): Promise<number> {
  const nves = new NveStore(store.redis, store.k, store);
  const secrets = (state.data.hnves ??= {}) as Record<string, { secret: string }>;
  let changed = 0;
  for (const h of t.hypervisors) {
    secrets[h.id] ??= { secret: randomBytes(18).toString('base64url') };
    const want = { id: h.id, pod: h.pod, vtep: h.vtep, encapsulations: ['vxlan'], secret: secrets[h.id]!.secret };
    const have = await nves.get(h.id);
    if (have && JSON.stringify(have) === JSON.stringify(hnveSchema.parse(want))) continue;
    await nves.put(want, { replace: !!have });
    changed++;
  }
  return changed;
}
