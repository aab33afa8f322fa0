// The VTEP index (vtep-owners.ts) is what every device and hNVE write checks instead of reading both
// hashes, so it must stay exactly what a rebuild from the hashes gives, through every writer, and a
// store written before it existed must get it built once — duplicates included — on the real Redis.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { TxRunner } from '../../src/store/redis-tx.ts';
import { INDEX_BUILT, rebuildVtepIndex, vtepIndexFromHashes, vtepKey } from '../../src/store/vtep-owners.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { rejection } from '../support/rejection.ts';

let t: TestRedis;
let store: InventoryStore;
let nves: NveStore;
beforeEach(async () => {
  t = await testRedis();
  store = new InventoryStore(t.redis, t.prefix);
  nves = new NveStore(t.redis, t.k, store);
});
afterEach(async () => {
  await store.close();
  await t.cleanup();
});

const SECRET = 'secret-of-an-hnve-0123';
const hnve = (id: string, vtep: string) => ({ id, pod: 'pod1', vtep, secret: SECRET });
const device = (id: string, role: string, vtep: string) => ({ id, role, driver: 'xmpp', jid: `${id}@nvo3.test`, vtep });

async function stored(): Promise<Record<string, string>> {
  const all = await t.redis.hgetall(t.k.vtepIndex);
  delete all[INDEX_BUILT];
  return all;
}

/** The index as stored equals the one rebuilt from both hashes, and is marked built. */
async function expectExact(): Promise<void> {
  const rebuilt = await vtepIndexFromHashes(t.redis, t.k);
  expect(rebuilt.duplicates).toEqual([]);
  expect(await stored()).toEqual(Object.fromEntries(rebuilt.index));
  expect(await t.redis.hexists(t.k.vtepIndex, INDEX_BUILT)).toBe(1);
}

/** The stable code a refused write's NvoError carries; the test fails if the write succeeds. */
const codeOf = async (p: Promise<unknown>): Promise<string> => (await rejection(p, NvoError)).code;
const messageOf = async (p: Promise<unknown>): Promise<string> => (await rejection(p, NvoError)).message;

async function basePod(): Promise<void> {
  await store.create('device', device('t1', 'tor', '203.0.113.11'));
  await store.create('device', device('w1', 'wan-gw', '203.0.113.1'));
  await store.create('device', device('g1', 'tor-gw', '203.0.113.2'));
  await store.create('pod', { id: 'pod1', tors: ['t1'], wanGateway: 'w1', torGateway: 'g1' });
}

describe('VTEP index', () => {
  it('stays exact through create, replace (VTEP change), remove and apply, and frees an old VTEP', async () => {
    await basePod();
    await expectExact();
    expect(await stored()).toEqual({ [vtepKey('203.0.113.11')]: 'device:t1', [vtepKey('203.0.113.1')]: 'device:w1', [vtepKey('203.0.113.2')]: 'device:g1' });

    await nves.put(hnve('h1', '192.0.2.201'));
    await nves.put(hnve('h2', '2001:db8::2'));
    await expectExact();

    // h1 moves: its old address is free at once, for an hNVE or a device.
    await nves.put(hnve('h1', '192.0.2.202'), { replace: true });
    await expectExact();
    expect(await t.redis.hget(t.k.vtepIndex, vtepKey('192.0.2.201'))).toBeNull();
    await nves.put(hnve('h3', '192.0.2.201'));
    // Replaced on the same address (another spelling) and with nothing changed: the index is untouched.
    await nves.put({ ...hnve('h2', '2001:DB8:0::2'), encapsulations: ['vxlan', 'nvgre'] }, { replace: true });
    await expectExact();

    await store.create('device', device('t2', 'tor', '203.0.113.12'));
    await store.replace('device', 't2', device('t2', 'tor', '203.0.113.13'));
    await expectExact();
    expect(await codeOf(nves.put(hnve('h4', '203.0.113.13')))).toBe('conflict');
    await nves.put(hnve('h4', '203.0.113.12'));
    await store.remove('device', 't2');
    await expectExact();
    await nves.put(hnve('h5', '203.0.113.13'));
    await nves.remove('h3');
    await expectExact();
    expect(await t.redis.hget(t.k.vtepIndex, vtepKey('192.0.2.201'))).toBeNull();

    // apply: add one device, drop none of the pod's, swap two VTEPs, move one onto h3's freed address.
    const doc = await store.export();
    const byId = (id: string) => doc.devices.find((d) => d.id === id)!;
    [byId('w1').vtep, byId('g1').vtep] = ['203.0.113.2', '203.0.113.1'];
    byId('t1').vtep = '192.0.2.201';
    doc.devices.push(device('t3', 'tor', '203.0.113.30') as (typeof doc.devices)[number]);
    expect((await store.apply(doc)).filter((c) => c.kind === 'device')).toHaveLength(4);
    await expectExact();
    expect(await t.redis.hget(t.k.vtepIndex, vtepKey('192.0.2.201'))).toBe('device:t1');
    // apply that deletes a device frees its address too.
    doc.devices = doc.devices.filter((d) => d.id !== 't3');
    await store.apply(doc);
    await expectExact();
    await nves.put(hnve('h6', '203.0.113.30'));
    await expectExact();
  });

  it('is left untouched by refused writes', async () => {
    await basePod();
    await nves.put(hnve('h1', '192.0.2.201'));
    const before = await t.snapshot();
    expect(await codeOf(nves.put(hnve('h1', '203.0.113.1'), { replace: true }))).toBe('conflict');
    expect(await codeOf(store.replace('device', 'w1', device('w1', 'wan-gw', '192.0.2.201')))).toBe('conflict');
    expect(await codeOf(store.remove('device', 't1'))).toBe('conflict'); // pod1 lists it
    expect(await codeOf(nves.remove('nobody'))).toBe('not-found');
    expect(await t.snapshot()).toBe(before);
  });

  // A store from before the index: records written straight into both hashes, including addresses
  // used twice (possible before c5734e9). The first write builds the index once, in its own
  // transaction; the first owner of a duplicate (devices first, then ids in natural order) keeps it.
  it('is rebuilt once from both hashes on a store written before it existed, reporting duplicates', async () => {
    await basePod();
    await t.redis.del(t.k.vtepIndex);
    const legacy = { h2: hnve('h2', '192.0.2.9'), h10: hnve('h10', '192.0.2.9'), hd: hnve('hd', '203.0.113.11'), ok: hnve('ok', '192.0.2.50') };
    await t.redis.hset(t.k.hnves, Object.fromEntries(Object.entries(legacy).map(([id, h]) => [id, JSON.stringify(h)])));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      // The first check builds it (a write that is then refused still leaves it built).
      expect(await messageOf(nves.put(hnve('new', '192.0.2.50')))).toBe("VTEP 192.0.2.50 is already used by hNVE 'ok'");
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    const report = JSON.parse((await t.redis.hget(t.k.vtepIndex, INDEX_BUILT))!) as { duplicates: unknown[] };
    const duplicates = [
      { vtep: '192.0.2.9', kept: { kind: 'hNVE', id: 'h2' }, dropped: { kind: 'hNVE', id: 'h10' } },
      { vtep: '203.0.113.11', kept: { kind: 'device', id: 't1' }, dropped: { kind: 'hNVE', id: 'hd' } },
    ];
    expect(report.duplicates).toEqual(duplicates);
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual(['NVO_VTEP_DUPLICATE', 'NVO_VTEP_DUPLICATE']);
    expect(warnings[1]!.message).toMatch(/203\.0\.113\.11 .*device 't1' and hNVE 'hd'/);
    const rebuilt = await vtepIndexFromHashes(t.redis, t.k);
    expect(rebuilt.duplicates).toEqual(duplicates);
    expect(await stored()).toEqual(Object.fromEntries(rebuilt.index));

    // Once: a second rebuild finds it built and writes nothing.
    const before = await t.snapshot();
    const runner = new TxRunner(t.redis);
    try {
      expect(await rebuildVtepIndex(runner, t.k)).toBeNull();
    } finally {
      await runner.close();
    }
    expect(await t.snapshot()).toBe(before);

    // The dropped owners' next writes are refused, naming the kept one; moving them off resolves it.
    expect(await messageOf(nves.put({ ...hnve('hd', '203.0.113.11'), encapsulations: ['vxlan', 'nvgre'] }, { replace: true }))).toBe(
      "VTEP 203.0.113.11 is already used by device 't1'",
    );
    expect(await codeOf(nves.put(hnve('h10', '192.0.2.9'), { replace: true }))).toBe('conflict');
    await nves.put(hnve('hd', '192.0.2.11'), { replace: true });
    await nves.put(hnve('h10', '192.0.2.10'), { replace: true });
    await nves.put(hnve('new', '192.0.2.51'));
    await expectExact();
  });

  it('is rebuilt by apply too, when apply is the first write', async () => {
    await basePod();
    await nves.put(hnve('h1', '192.0.2.201'));
    await t.redis.del(t.k.vtepIndex);
    const doc = await store.export();
    doc.devices[0]!.description = 'touched';
    await store.apply(doc);
    await expectExact();
  });
});
