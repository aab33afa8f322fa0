// Acceptance (issue 9): two tenant-proxy processes on one Redis serve the same NVEs. An NVE on
// process A hears (NOTIFY) of a session change made through process B; after A is killed with
// SIGKILL, the NVE reconnects to B and carries on — its registration and sessions are in Redis.
// Every proxy is a separate OS process started with `node bin/nvo.js … --config FILE`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import type { Request } from '../../src/proxy/protocol/messages.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { HNVES, INVENTORY, SECRETS } from './harness.ts';
import { ProxyProcesses, type ProxyProcess } from './multi-process-helpers.ts';

const NP_SECRET = 'np1-shared-secret-for-processes';
const M1 = '02:00:00:00:a1:01';
const M2 = '02:00:00:00:b2:02';
const M3 = '02:00:00:00:a1:03';

let t: TestRedis;
let inventory: InventoryStore;
let procs: ProxyProcesses;
let np: ProxyProcess;
let tpA: ProxyProcess;
let tpB: ProxyProcess;
const clients: MessagingClient[] = [];

/** NOTIFYs an NVE received that mention a MAC. */
const heard = (c: MessagingClient, mac: string) => c.notifications.filter((n: Request) => n.method === 'NOTIFY' && JSON.stringify(n.body).includes(mac)).length;

async function connect(nve: 'h1' | 'h2', port: number): Promise<MessagingClient> {
  const c = await MessagingClient.connect({ url: `ws://127.0.0.1:${port}`, nve, secret: SECRETS[nve], proxy: 'tp1', timeoutMs: 30_000 });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  t = await testRedis();
  inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply(INVENTORY);
  const nves = new NveStore(t.redis, t.k, inventory);
  for (const h of HNVES) await nves.put(h);
  procs = new ProxyProcesses(t.prefix);
  np = await procs.start('network-proxy', procs.config('np1', { id: 'np1', listen: { port: 0 }, secret: NP_SECRET, sync: { mode: 'memory' }, deadlineSeconds: 20 }));
  const tp = (name: string) => procs.config(name, { id: 'tp1', listen: { port: 0 }, networkProxies: [{ id: 'np1', url: `ws://127.0.0.1:${np.port}`, secret: NP_SECRET, pods: ['*'] }], graceSeconds: 600 });
  [tpA, tpB] = await Promise.all([procs.start('tenant-proxy', tp('tp-a')), procs.start('tenant-proxy', tp('tp-b'))]);
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await procs?.stopAll();
  await inventory?.close();
  await t?.cleanup();
});

describe('two tenant-proxy processes on one Redis', () => {
  it('an NVE on A hears of sessions made and ended through B; after kill -9 of A it goes on through B', async () => {
    const h1 = await connect('h1', tpA.port);
    const h2 = await connect('h2', tpB.port);
    expect((await h1.register(600)).status).toBe(200);
    expect((await h2.register(600)).status).toBe(200);
    const procOf = async (nve: string) => t.redis.hget(t.k.registration(nve), 'proc');
    const procA = await procOf('h1');
    const procB = await procOf('h2');
    expect(procA).toMatch(/^tp1:/);
    expect(procB).toMatch(/^tp1:/);
    expect(procA).not.toBe(procB);

    // h1 (on A) joins the VNI; then a session change through B reaches it through Redis pub/sub.
    const s1 = await h1.invite({ mac: M1 }, 'acme');
    expect(s1.status).toBe(200);
    const s2 = await h2.invite({ mac: M2 }, 'acme');
    expect(s2.status).toBe(200);
    expect(s2.body.vni).toBe(s1.body.vni);
    await expect.poll(() => heard(h1, M2), { timeout: 20_000 }).toBe(1);
    // And the other way round: a change through A reaches h2 on B.
    const s3 = await h1.invite({ mac: M3 }, 'acme');
    expect(s3.status).toBe(200);
    await expect.poll(() => heard(h2, M3), { timeout: 20_000 }).toBe(1);

    // Process A dies without a word.
    tpA.child.kill('SIGKILL');
    await tpA.exited;
    await expect.poll(() => h1.client.isOpen, { timeout: 10_000 }).toBe(false);

    // The overview tells that the process holding h1's registration is gone.
    const rowOf = async (nve: string) => (JSON.parse((await procs.run(['show', 'nves', '--json'])).stdout) as { id: string; via: string; connected: boolean }[]).find((r) => r.id === nve)!;
    expect(await rowOf('h1')).toMatchObject({ via: procA, connected: false });
    expect(await rowOf('h2')).toMatchObject({ via: procB, connected: true });

    // h1 reconnects to B. Its registration is still there (OPTIONS needs one), and so are its sessions.
    const h1b = await connect('h1', tpB.port);
    expect((await h1b.options()).status).toBe(200);
    expect(JSON.parse((await t.redis.get(t.k.session(s1.callId)))!).nve).toBe('h1');
    // An agent carries a session's CSeq over a reconnect (RFC 3261 §12.2.1.1: it only grows); this
    // thin client starts from 1, so the INVITE's number is spent here first.
    h1b.client.build('INVITE', s1.callId, {});
    // Whether h2 was told of M1's arrival depends on when it joined; its removal it must hear.
    const heardM1Before = heard(h2, M1);
    const bye1 = await h1b.bye(s1.callId);
    expect(bye1.status).toBe(200);
    // The network proxy undid it too (B continues the call's CSeq towards it, not A's count).
    expect(bye1.body.branches).toEqual([{ proxy: 'np1', status: 200, reason: 'OK' }]);
    expect(await t.redis.exists(t.k.session(s1.callId))).toBe(0);
    await expect.poll(() => heard(h2, M1), { timeout: 20_000 }).toBeGreaterThan(heardM1Before);

    // Re-REGISTER moves h1's pushes to B; h2's BYE through B reaches it there.
    expect((await h1b.register(600)).status).toBe(200);
    expect(await procOf('h1')).toBe(procB);
    expect(await rowOf('h1')).toMatchObject({ via: procB, connected: true });
    expect((await h2.bye(s2.callId)).status).toBe(200);
    await expect.poll(() => heard(h1b, M2), { timeout: 20_000 }).toBe(1);
    h1b.client.build('INVITE', s3.callId, {});
    expect((await h1b.bye(s3.callId)).status).toBe(200);
    expect(await t.redis.scard(t.k.sessionIndex)).toBe(0);
    expect(await t.redis.scard(t.k.vniMemberIndex)).toBe(0);

    // A clean stop: SIGTERM ends B with exit code 0 after it says so.
    tpB.child.kill('SIGTERM');
    expect(await tpB.exited).toBe(0);
    expect(tpB.logs.map((l) => l.event)).toContain('stopped');
    // No Redis connection of B ever failed (a subscription lost in a failed ready check once cost NOTIFYs).
    expect(tpB.stderr).not.toMatch(/Unhandled error event/);
    expect(tpB.logs.filter((l) => l.msg === 'redis subscriber')).toEqual([]);
    // Its JSON log follows sessions by call id.
    expect(tpB.logs).toContainEqual(expect.objectContaining({ method: 'BYE', callId: s2.callId, from: 'h2', status: 200 }));
  });

  it('a network proxy with the BullMQ pipeline (workers inside by default) starts and stops cleanly', async () => {
    const p = await procs.start('network-proxy', procs.config('np-bull', { id: 'np3', listen: { port: 0 }, secret: NP_SECRET, devices: ['tor1', 'wan1'] }));
    expect(p.logs.find((l) => l.event === 'listening')).toMatchObject({ sync: 'bullmq', workers: 1, devices: ['tor1', 'wan1'] });
    await expect.poll(async () => (await t.redis.keys(`${t.k.bullPrefix}:*`)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(p.logs.map((l) => l.event)).toEqual(expect.arrayContaining(['listening', 'stopping', 'stopped']));
  });

  it('refuses a bad configuration naming the field and its line, and starts nothing', async () => {
    const file = procs.config('bad', { id: 'tp1', listen: { port: 70000 }, networkProxies: [{ id: 'np1', url: 'http://127.0.0.1:1', secret: NP_SECRET }] });
    const r = await procs.run(['tenant-proxy', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json:\d+: invalid tenant proxy configuration: listen\.port: at most 65535$/m);
    expect(r.stderr).toMatch(/^ {2}networkProxies\[0\]\.url: must be a ws:\/\/ or wss:\/\/ URL/m);
    expect(r.stdout).toBe('');
    const missingSecret = procs.config('nosecret', { id: 'np2', listen: { port: 0 }, secretFile: 'absent.secret', devices: ['tor1'] });
    const r2 = await procs.run(['network-proxy', '--config', missingSecret, '--check']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/invalid network proxy configuration: secretFile: cannot read .*absent\.secret: ENOENT/);
    const unknownDevice = procs.config('nodev', { id: 'np2', listen: { port: 0 }, secret: NP_SECRET, devices: ['tor1', 'tor9'] });
    const r3 = await procs.run(['network-proxy', '--config', unknownDevice, '--check']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/devices\[1\]: no device 'tor9' in the inventory/);
  });
});
