// A VTEP belongs to one NVE: two hNVEs, or an hNVE and a device, with one address are a conflict
// naming who has it, and Redis is left as it was — through NveStore, InventoryStore (create,
// replace, apply) and concurrent writers on their own connections, on the real Redis. (The index
// behind the check: vtep-index.test.ts.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { connectRedis } from '../../src/store/redis.ts';
import { INDEX_BUILT, vtepIndexFromHashes, vtepKey } from '../../src/store/vtep-owners.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { rejection } from '../support/rejection.ts';

let t: TestRedis;
let store: InventoryStore;
let nves: NveStore;
beforeEach(async () => {
  t = await testRedis();
  store = new InventoryStore(t.redis, t.prefix);
  nves = new NveStore(t.redis, t.k, store);
  for (const [id, role, vtep] of [['t1', 'tor', '203.0.113.11'], ['w1', 'wan-gw', '203.0.113.1'], ['g1', 'tor-gw', '203.0.113.2']] as const) {
    await store.create('device', { id, role, driver: 'xmpp', jid: `${id}@nvo3.test`, vtep });
  }
  await store.create('pod', { id: 'pod1', tors: ['t1'], wanGateway: 'w1', torGateway: 'g1' });
});
afterEach(async () => {
  await store.close();
  await t.cleanup();
});

const SECRET = 'secret-of-an-hnve-0123';
const hnve = (id: string, vtep: string) => ({ id, pod: 'pod1', vtep, secret: SECRET });

async function conflictOf(fn: () => Promise<unknown>): Promise<NvoError> {
  const before = await t.snapshot();
  const err = await rejection(fn(), NvoError);
  expect(err.code).toBe('conflict');
  expect(await t.snapshot()).toBe(before);
  return err;
}

describe('VTEP uniqueness', () => {
  it('refuses a second hNVE on an hNVE\'s VTEP, and an hNVE on a device\'s, naming the owner', async () => {
    await nves.put(hnve('h1', '192.0.2.201'));
    const again = await conflictOf(() => nves.put(hnve('h2', '192.0.2.201')));
    expect(again.message).toBe("VTEP 192.0.2.201 is already used by hNVE 'h1'");
    expect(again.issues).toEqual([{ field: 'vtep', reason: "VTEP 192.0.2.201 is already used by hNVE 'h1'" }]);
    expect(again.details).toEqual({ vtep: '192.0.2.201', kind: 'hnve', id: 'h1' });
    expect((await conflictOf(() => nves.put(hnve('h2', '203.0.113.11')))).message).toBe("VTEP 203.0.113.11 is already used by device 't1'");
    // Replacing h1 on its own VTEP is fine; moving it onto a device's is not.
    await nves.put({ ...hnve('h1', '192.0.2.201'), encapsulations: ['vxlan', 'nvgre'] }, { replace: true });
    await conflictOf(() => nves.put(hnve('h1', '203.0.113.1'), { replace: true }));
    expect((await nves.show('h1')).vtep).toBe('192.0.2.201');
  });

  it('compares addresses, not spellings', async () => {
    await nves.put(hnve('h1', '2001:db8::1'));
    expect((await conflictOf(() => nves.put(hnve('h2', '2001:DB8:0:0::1')))).message).toMatch(/already used by hNVE 'h1'/);
  });

  it('refuses a device on an hNVE\'s or another device\'s VTEP (create, replace, apply)', async () => {
    await nves.put(hnve('h1', '192.0.2.201'));
    const d = { id: 't2', role: 'tor', driver: 'xmpp', jid: 't2@nvo3.test' };
    expect((await conflictOf(() => store.create('device', { ...d, vtep: '192.0.2.201' }))).message).toBe("VTEP 192.0.2.201 is already used by hNVE 'h1'");
    expect((await conflictOf(() => store.create('device', { ...d, vtep: '203.0.113.11' }))).message).toBe("VTEP 203.0.113.11 is already used by device 't1'");
    await conflictOf(() => store.replace('device', 'w1', { id: 'w1', role: 'wan-gw', driver: 'xmpp', jid: 'w1@nvo3.test', vtep: '203.0.113.2' }));
    await store.replace('device', 'w1', { id: 'w1', role: 'wan-gw', driver: 'xmpp', jid: 'w1@nvo3.test', vtep: '203.0.113.1', description: 'same VTEP' });

    const doc = await store.export();
    const onHnve = structuredClone(doc);
    onHnve.devices[0]!.vtep = '192.0.2.201';
    const e = await conflictOf(() => store.apply(onHnve));
    expect(e.issues).toEqual([{ field: 'devices[0].vtep', reason: "VTEP 192.0.2.201 is already used by hNVE 'h1'" }]);
    const twice = structuredClone(doc);
    twice.devices[2]!.vtep = twice.devices[0]!.vtep;
    expect((await conflictOf(() => store.apply(twice))).issues).toEqual([{ field: 'devices[2].vtep', reason: `VTEP ${doc.devices[0]!.vtep} is already used by device '${doc.devices[0]!.id}'` }]);
    // Swapping two devices' VTEPs in one document is fine: the document replaces them together.
    const swapped = structuredClone(doc);
    [swapped.devices[0]!.vtep, swapped.devices[1]!.vtep] = [doc.devices[1]!.vtep, doc.devices[0]!.vtep];
    expect(await store.apply(swapped)).toHaveLength(2);
  });

  // Writers on their own connections race for one address: exactly one wins, whatever the mix. Each
  // write now reads one field of the VTEP index, so what keeps a device and an hNVE (which watch
  // different hashes for their own records) from both winning is the WATCH on the index. To race them
  // for real, every writer starts on a fresh transaction connection (as NveStore's always do) and half
  // are devices; the 5000 stored hNVEs (in the index, as a provisioned fleet) show the check no
  // longer depends on how many there are.
  it('holds under concurrency: of many writers racing for one VTEP, exactly one wins', async () => {
    const filler = Array.from({ length: 5000 }, (_, i) => ({ ...hnve(`x${i}`, `2001:db8::${(i + 1).toString(16)}`), encapsulations: ['vxlan'] }));
    await t.redis.hset(t.k.hnves, Object.fromEntries(filler.map((h) => [h.id, JSON.stringify(h)])));
    await t.redis.hset(t.k.vtepIndex, Object.fromEntries(filler.map((h) => [vtepKey(h.vtep), `hNVE:${h.id}`])));
    const conns = Array.from({ length: 12 }, () => connectRedis(undefined, { name: 'nvo-test-vtep' }));
    try {
      for (let round = 0; round < 5; round++) {
        const vtep = `198.51.100.${10 + round}`;
        const stores = conns.map((c) => new InventoryStore(c, t.prefix));
        const results = await Promise.allSettled(
          stores.map((s, i) =>
            i % 2 !== 0 ? new NveStore(s.redis, s.k, s).put(hnve(`r${round}h${i}`, vtep)) : s.create('device', { id: `r${round}d${i}`, role: 'tor', driver: 'xmpp', jid: `d${i}@nvo3.test`, vtep }),
          ),
        );
        await Promise.all(stores.map((s) => s.close()));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as NvoError).code).toBe('conflict');
        const holders = [...(await nves.list()), ...(await store.list('device'))].filter((x) => x.vtep === vtep);
        expect(holders).toHaveLength(1);
      }
      const rebuilt = await vtepIndexFromHashes(t.redis, t.k);
      const index = await t.redis.hgetall(t.k.vtepIndex);
      delete index[INDEX_BUILT];
      expect(index).toEqual(Object.fromEntries(rebuilt.index));
    } finally {
      conns.forEach((c) => c.disconnect());
    }
  }, 60_000);
});
