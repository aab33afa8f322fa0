// A REFER whose tenant proxy is killed (kill -9) mid-move is finished by another tenant-proxy
// process from the phase recorded in Redis (refer.ts, refer-ledger.ts):
//  (a) killed after prepare and tunnels, with the switch recorded but not begun → undone: flood lists,
//      sessions, every hNVE's table and data plane and every device's desired state as before the
//      move, the target's preparation taken back; the hNVE that asked gets a final NOTIFY (503);
//  (b) killed after the switch, with the break recorded → completed: sessions at the target, the old
//      VTEP gone everywhere; the admin's `nvo move` (a process of its own) gets the final 200.
// Proxies and agents are separate processes (real Redis, recorder data planes, the in-memory device
// sync). The runner stops at a known phase through the test hook NVO_TEST_REFER_HOLD: having recorded
// the phase, it waits there (renewing its lease) until the test kills it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lab/prosody-server.ts';
import { emptyConfig } from '../../src/model/device-config.ts';
import { Membership } from '../../src/proxy/network/membership.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { AgentHandle, type AgentSnapshot } from '../agent/hnve/agent-handle.ts';
import { runNvo, type NvoRun } from '../support/nvo-cli.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { HNVES, INVENTORY, SECRETS } from './harness.ts';
import { ProxyProcesses, type ProxyProcess } from './multi-process-helpers.ts';

const NP_SECRET = 'np1-shared-secret-for-processes';
const H4 = { id: 'h4', pod: 'pod1', vtep: '192.0.2.204', encapsulations: ['vxlan'], secret: 'secret-of-h4-0123456789' };
const H1_VTEP = HNVES.find((h) => h.id === 'h1')!.vtep;
const NVES = ['h1', 'h2', 'h3', 'h4'] as const;
const DEVICES = ['tor1', 'tor2', 'tor3', 'wan1', 'tgw1'];
// h1's two VMs (the first with a second MAC by INFO) move; h2 (pod1) and h3 (pod2) watch.
const VM1 = '02:00:00:00:01:01';
const VM1B = '02:00:00:00:01:02';
const VM3 = '02:00:00:00:01:03';

let t: TestRedis;
let inventory: InventoryStore;
let state: DeviceStateStore;
let members: Membership;
let procs: ProxyProcesses;
let portA: number;
let portB: number;
let tpB: ProxyProcess;
const agents: Record<string, AgentHandle> = {};
const h1Calls: string[] = [];
const referIds: string[] = [];


let npPort = 0;
const tpConfig = (name: string, port: number) =>
  procs.config(name, { id: 'tp1', listen: { port }, networkProxies: [{ id: 'np1', url: `ws://127.0.0.1:${npPort}`, secret: NP_SECRET, pods: ['*'] }], graceSeconds: 600 });

/** A tenant-proxy process; `hold` makes its REFER runner stop at that phase (the test hook). */
async function startTp(name: string, port: number, hold?: string): Promise<ProxyProcess> {
  if (hold) process.env.NVO_TEST_REFER_HOLD = hold;
  try {
    return await procs.start('tenant-proxy', tpConfig(name, port));
  } finally {
    delete process.env.NVO_TEST_REFER_HOLD;
  }
}

const procOf = (p: ProxyProcess) => String(p.logs.find((l) => l.event === 'listening')!.proc);
const registeredAt = async (nve: string) => t.redis.hget(t.k.registration(nve), 'proc');
/** Waits until every agent is registered through the given process (and so hears its pushes). */
async function allOn(p: ProxyProcess): Promise<void> {
  for (const nve of NVES) await expect.poll(() => registeredAt(nve), { timeout: 30_000 }).toBe(procOf(p));
}

async function kill9(p: ProxyProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

/** A new process on A's port whose runner holds at `hold`; B stops (SIGTERM), so the agents, and the
 *  admin's request, can only go to the new one. */
async function handOver(name: string, hold: string): Promise<ProxyProcess> {
  const a = await startTp(name, portA, hold);
  tpB.child.kill('SIGTERM');
  expect(await tpB.exited).toBe(0);
  await allOn(a);
  return a;
}

const held = (p: ProxyProcess) => p.logs.find((l) => l.event === 'refer-held') as { referId: string; phase: string } | undefined;

/** What a member holds of the VNI, without the revision (which a move and its undo advance). */
const tablesOf = (s: AgentSnapshot) => Object.fromEntries(Object.entries(s.tables).map(([cid, x]) => [cid, { table: x.table, floods: x.floods }]));
/** The agent's sessions in callId order: one given back after an undo is re-inserted at the end of its map. */
const view = (s: AgentSnapshot) => ({ config: s.config, ports: s.ports, tables: tablesOf(s), sessions: [...s.sessions].sort((a, b) => (a.callId < b.callId ? -1 : 1)) });

/** Everything a move may touch, to compare before and after. */
async function world() {
  const snap = await members.snapshot('acme');
  const out = {
    sessions: {} as Record<string, unknown>,
    ofNve: {} as Record<string, string[]>,
    members: await members.members('acme'),
    floods: snap.floods,
    table: snap.table,
    devices: {} as Record<string, unknown>,
    agents: {} as Record<string, ReturnType<typeof view>>,
  };
  for (const id of h1Calls) out.sessions[id] = JSON.parse((await t.redis.get(t.k.session(id))) ?? 'null');
  for (const nve of NVES) out.ofNve[nve] = (await t.redis.smembers(t.k.sessionsOfNve(nve))).sort();
  for (const dev of DEVICES) out.devices[dev] = (await state.desired(dev)).config;
  for (const nve of NVES) out.agents[nve] = view(await agents[nve]!.snapshot());
  return out;
}

/** Nothing of a move but its record: no busy hNVE, no active move, no lease on it or on a call's order. */
async function onlyRecordsLeft(referIds: string[]): Promise<void> {
  const keys = (await t.redis.keys(`${t.prefix}refer:*`)).sort();
  expect(keys).toEqual(referIds.map((id) => t.k.refer(id)).sort());
  for (const id of referIds) {
    const r = await t.redis.hgetall(t.k.refer(id));
    expect(r).toMatchObject({ state: 'done', phase: 'final' });
    expect(r.holder).toBeUndefined();
    expect(r.until).toBeUndefined();
  }
  for (const key of await t.redis.keys(`${t.prefix}msg:order:*`)) expect(await t.redis.hget(key, 'holder'), key).toBeNull();
}

/** h1 asks to move to h4 and is answered 202; the move, recorded for onlyRecordsLeft, is then held by
 *  `tp` at `phase`. Its id. */
async function startMove(tp: ProxyProcess, phase: string): Promise<string> {
  const r = await agents.h1!.call<{ status: number; reason: string; body: { referId: string } }>('refer', { to: 'h4' });
  expect(r.status, r.reason).toBe(202);
  const { referId } = r.body;
  referIds.push(referId);
  await expect.poll(() => held(tp)?.phase, { timeout: 30_000 }).toBe(phase);
  return referId;
}

const referEvents = (a: AgentHandle, referId: string) => a.events.filter((e) => e.event === 'refer' && e.body.referId === referId).map((e) => e.body);

beforeAll(async () => {
  t = await testRedis();
  inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply(INVENTORY);
  const nves = new NveStore(t.redis, t.k, inventory);
  for (const h of [...HNVES, H4]) await nves.put(h);
  state = new DeviceStateStore(t.redis, t.k);
  members = new Membership(t.redis, t.k);
  procs = new ProxyProcesses(t.prefix);
  npPort = (await procs.start('network-proxy', procs.config('np1', { id: 'np1', listen: { port: 0 }, secret: NP_SECRET, sync: { mode: 'memory' }, deadlineSeconds: 20 }))).port;
  [portA, portB] = [await freePort(), await freePort()];
}, 60_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.kill();
  await procs?.stopAll();
  await inventory?.close();
  await t?.cleanup();
});

describe('REFER recovery after the tenant proxy running it is killed', () => {
  it('(a) killed with the switch recorded but not begun: another process undoes the move; h1 gets the final NOTIFY', async () => {
    const tpA = await startTp('tp-a', portA, 'switch');
    tpB = await startTp('tp-b', portB);
    const secrets: Record<string, string> = { ...SECRETS, h4: H4.secret };
    const ports = { [VM1]: 'vm1', [VM3]: 'vm3' };
    for (const nve of NVES) {
      // Every agent is on A first and falls back to B.
      agents[nve] = await AgentHandle.spawn({ nve, secret: secrets[nve]!, urls: [`ws://127.0.0.1:${portA}`, `ws://127.0.0.1:${portB}`], ports });
      await agents[nve].call('start');
    }
    await allOn(tpA);
    for (const mac of [VM1, VM3]) {
      const r = await agents.h1!.call<{ status: number; reason: string; callId: string }>('invite', { mac, cid: 'acme' });
      expect(r.status, r.reason).toBe(200);
      h1Calls.push(r.callId);
    }
    expect((await agents.h1!.call<{ status: number }>('info', h1Calls[0], { add: [VM1B] })).status).toBe(200);
    for (const nve of ['h2', 'h3']) expect((await agents[nve]!.call<{ status: number }>('invite', { mac: `02:00:00:00:0${nve[1]}:01`, cid: 'acme' })).status).toBe(200);
    await expect.poll(async () => (await agents.h2!.snapshot()).tables.acme?.table.length, { timeout: 20_000 }).toBe(5);
    const before = await world();
    expect(before.agents.h4!.config).toEqual(emptyConfig());

    const referId = await startMove(tpA, 'switch');
    // Held where it should be: h4 prepared (its VMs' ports up, sessions pending), its VTEP in every
    // flood list, nothing of h1 changed hands.
    const during = await world();
    expect(await t.redis.hget(t.k.refer(referId), 'phase')).toBe('switch');
    expect(during.floods).toEqual([H4.vtep]);
    expect(during.sessions).toEqual(before.sessions);
    expect(during.agents.h4!.sessions.map((s) => s.pending)).toEqual([referId, referId]);
    expect(during.agents.h4!.ports.length).toBe(2);
    for (const dev of ['tor1', 'wan1']) expect(JSON.stringify(during.devices[dev])).toContain(H4.vtep);
    // A second move of h1 while this one runs is refused.
    const again = await agents.h1!.call<{ status: number; reason: string }>('refer', { to: 'h4' });
    expect(again.status, again.reason).toBe(409);

    const readyBefore = agents.h1!.events.filter((e) => e.event === 'ready').length;
    await kill9(tpA);
    // h1 is back through B before the dead runner's lease has lapsed: the move is still pending there.
    await expect.poll(() => agents.h1!.events.filter((e) => e.event === 'ready').length, { timeout: 20_000 }).toBeGreaterThan(readyBefore);
    const pending = await agents.h1!.call<{ status: number; reason: string }>('refer', { to: 'h4' });
    expect(pending.status, pending.reason).toBe(409);

    await expect.poll(() => referEvents(agents.h1!, referId).find((b) => b.final), { timeout: 60_000 }).toBeTruthy();
    const final = referEvents(agents.h1!, referId).find((b) => b.final)!;
    expect(final.status).toBe(503);
    expect(final.sipfrag).toMatch(/^SIP\/2.0 503 the tenant proxy running the move stopped during switch; h1 left as it was$/);
    expect(referEvents(agents.h1!, referId).map((b) => b.reason)).toContain('the tenant proxy running the move stopped during switch; undoing it');
    expect(tpB.logs).toContainEqual(expect.objectContaining({ referId, phase: 'switch', msg: 'REFER recovered: its tenant proxy stopped' }));

    // Everything as before the move, at every member and device; h4 let its preparation go.
    await expect.poll(async () => (await world()).agents, { timeout: 20_000 }).toEqual(before.agents);
    expect(await world()).toEqual(before);
    await onlyRecordsLeft([referId]);
  }, 150_000);

  it('(a) killed halfway through the switch (one of two sessions is h4\'s): the undo brings it back', async () => {
    const tpA = await handOver('tp-a1', 'switch:first-transfer');
    const before = await world();
    const referId = await startMove(tpA, 'switch:first-transfer');
    const during = await world();
    const [first, second] = [...h1Calls].sort();
    expect(during.sessions[first!]).toMatchObject({ nve: 'h4', answer: { vtep: H4.vtep } });
    expect(during.sessions[second!]).toEqual(before.sessions[second!]);
    expect(during.members.filter((m) => m.callId === first).map((m) => m.nve)).toEqual(first === h1Calls[0] ? ['h4', 'h4'] : ['h4']);

    await kill9(tpA);
    tpB = await startTp('tp-b1', portB);
    await expect.poll(() => referEvents(agents.h1!, referId).find((b) => b.final)?.status, { timeout: 60_000 }).toBe(503);
    expect(tpB.logs).toContainEqual(expect.objectContaining({ referId, phase: 'switch', msg: 'REFER recovered: its tenant proxy stopped' }));
    await expect.poll(async () => (await world()).agents, { timeout: 20_000 }).toEqual(before.agents);
    expect(await world()).toEqual(before);
    await onlyRecordsLeft(referIds);
  }, 150_000);

  it('(b) killed with the break recorded: another process completes the move; `nvo move` gets the final 200', async () => {
    // Only A2 runs when the admin asks, so it is A2 that claims the move.
    const tpA2 = await handOver('tp-a2', 'break');
    const before = await world();

    const move: Promise<NvoRun> = runNvo(['move', 'h1', '--to', 'h4', '--timeout', '120'], { NVO_PREFIX: t.prefix });
    await expect.poll(() => held(tpA2)?.phase, { timeout: 60_000 }).toBe('break');
    const referId = held(tpA2)!.referId;
    // Held after the switch: the sessions are h4's, the MACs point at h4, h1's VTEP still floods.
    const during = await world();
    for (const id of h1Calls) expect(during.sessions[id]).toMatchObject({ nve: 'h4', answer: { vtep: H4.vtep } });
    expect(during.table.filter((m) => [VM1, VM1B, VM3].includes(m.mac)).map((m) => m.vtep)).toEqual([H4.vtep, H4.vtep, H4.vtep]);
    expect(during.floods.sort()).toEqual([H1_VTEP, H4.vtep].sort());
    const again = await agents.h4!.call<{ status: number; reason: string }>('refer', { to: 'h2' });
    expect(again.status, again.reason).toBe(409);

    await kill9(tpA2);
    const tpB2 = await startTp('tp-b2', portB);
    const run = await move;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('SIP/2.0 202 Accepted');
    expect(run.stdout).toContain('SIP/2.0 183 the tenant proxy running the move stopped during break; completing it');
    expect(run.stdout.trim().split('\n').at(-1)).toBe('SIP/2.0 200 OK');
    expect(tpB2.logs).toContainEqual(expect.objectContaining({ referId, phase: 'break', msg: 'REFER recovered: its tenant proxy stopped' }));

    // The sessions are h4's; h1's VTEP is gone from every member's table and every device.
    const after = await world();
    for (const id of h1Calls) expect(after.sessions[id]).toEqual({ ...(before.sessions[id] as object), nve: 'h4', answer: { ...(before.sessions[id] as { answer: object }).answer, vtep: H4.vtep } });
    expect(after.ofNve).toEqual({ ...before.ofNve, h1: [], h4: [...h1Calls].sort() });
    expect(after.floods).toEqual([]);
    expect(after.members.filter((m) => m.nve === 'h4').map((m) => m.mac)).toEqual([VM1, VM1B, VM3]);
    expect(after.members.some((m) => m.vtep === H1_VTEP || m.nve === 'h1')).toBe(false);
    for (const dev of DEVICES) expect(JSON.stringify(after.devices[dev]), dev).not.toContain(H1_VTEP);
    for (const dev of ['tor1', 'wan1', 'tgw1']) expect(JSON.stringify(after.devices[dev]), dev).toContain(H4.vtep);
    await expect.poll(async () => view(await agents.h1!.snapshot()), { timeout: 20_000 }).toEqual({ config: emptyConfig(), ports: [], tables: {}, sessions: [] });
    // h4 owns them (no longer pending: it heard refer-done) with the VMs' ports; the watchers point at it.
    await expect.poll(async () => (await agents.h4!.snapshot()).sessions.map((s) => [s.mac, s.pending]).sort(), { timeout: 20_000 }).toEqual([
      [VM1, null],
      [VM3, null],
    ]);
    for (const nve of ['h2', 'h3', 'h4']) {
      await expect.poll(async () => JSON.stringify(tablesOf(await agents[nve]!.snapshot())), { timeout: 20_000 }).not.toContain(H1_VTEP);
      const s = await agents[nve]!.snapshot();
      expect(JSON.stringify(s.config), nve).not.toContain(H1_VTEP);
      for (const mac of [VM1, VM1B, VM3]) expect(s.tables.acme!.table.find((m) => m.mac === mac)?.vtep, `${nve} ${mac}`).toBe(H4.vtep);
    }
    await onlyRecordsLeft([...referIds, referId]);
  }, 150_000);
});
