import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NvoError } from '../../src/errors.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

const lab = parse(readFileSync(new URL('../../lab/inventory.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;

let t: TestRedis;
let store: InventoryStore;
beforeEach(async () => {
  t = await testRedis();
  store = new InventoryStore(t.redis, t.prefix);
});
afterEach(async () => {
  await store.close();
  await t.cleanup();
});

/** Runs `fn`, expects an NvoError, and proves Redis did not change. */
async function rejects(fn: () => Promise<unknown>): Promise<NvoError> {
  const before = await t.snapshot();
  const err = await fn().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NvoError);
  expect(await t.snapshot()).toBe(before);
  return err as NvoError;
}

const tenant = { cid: 'acme', name: 'Acme', subnet: '192.0.2.0/24', gateway: '192.0.2.1' };
// Each device id its own VTEP, the same every time (a VTEP belongs to one NVE).
const vteps = new Map<string, string>();
const vtepOf = (id: string) => vteps.get(id) ?? vteps.set(id, `203.0.113.${100 + vteps.size}`).get(id)!;
const dev = (id: string, role: string) => ({ id, role, driver: 'xmpp', jid: `${id}@nvo3.test`, vtep: vtepOf(id) });
const pod = { id: 'p1', tors: ['t1'], wanGateway: 'w1', torGateway: 'g1' };
const mapping = (cid: string, vni?: number) => ({ cid, ...(vni ? { vni } : {}), vrf: { name: cid, rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] } });

async function seedFabric() {
  for (const [id, role] of [['t1', 'tor'], ['t2', 'tor'], ['w1', 'wan-gw'], ['g1', 'tor-gw']] as const) await store.create('device', dev(id, role));
  await store.create('pod', pod);
}

describe('InventoryStore', () => {
  it('creates, shows, lists, replaces and removes, storing canonical JSON with defaults', async () => {
    const created = await store.create('tenant', tenant);
    expect(created).toMatchObject({ multicast: false, encapsulations: ['vxlan'] });
    expect(await store.getTenant('acme')).toEqual(created);
    expect(await t.redis.hget(t.k.inventory('tenant'), 'acme')).toBe(
      '{"cid":"acme","encapsulations":["vxlan"],"gateway":"192.0.2.1","multicast":false,"name":"Acme","subnet":"192.0.2.0/24"}',
    );
    await store.create('tenant', { ...tenant, cid: 'beta' });
    expect((await store.list('tenant')).map((x) => x.cid)).toEqual(['acme', 'beta']);
    const replaced = await store.replace('tenant', 'acme', { name: 'Acme 2', subnet: '198.51.100.0/24', gateway: '198.51.100.1', multicast: true });
    expect(replaced).toMatchObject({ cid: 'acme', name: 'Acme 2', multicast: true });
    expect((await store.getTenant('acme'))?.name).toBe('Acme 2');
    await store.remove('tenant', 'acme');
    expect(await store.getTenant('acme')).toBeNull();
    expect((await rejects(() => store.remove('tenant', 'acme'))).code).toBe('not-found');
    expect((await rejects(() => store.show('tenant', 'nope'))).status).toBe(404);
  });

  it('refuses bad input and duplicates, naming the field, and changes nothing', async () => {
    await store.create('tenant', tenant);
    const dup = await rejects(() => store.create('tenant', tenant));
    expect(dup).toMatchObject({ code: 'conflict', message: "tenant 'acme' already exists", issues: [{ field: 'cid' }] });
    const noPrefix = await rejects(() => store.create('tenant', { ...tenant, cid: 'x', subnet: '192.0.2.0' }));
    expect(noPrefix.message).toMatch(/^invalid tenant: subnet: needs a prefix length/);
    const outside = await rejects(() => store.create('tenant', { ...tenant, cid: 'x', gateway: '203.0.113.1' }));
    expect(outside.issues[0]).toEqual({ field: 'gateway', reason: '203.0.113.1 is outside the subnet 192.0.2.0/24' });
    for (const vlan of [0, 4095, 5000]) {
      const e = await rejects(() => store.create('device', { ...dev('d', 'tor'), vlanRanges: ['1-10', vlan] }));
      expect(e.issues[0]).toMatchObject({ field: 'vlanRanges[1]', reason: expect.stringMatching(/outside 1\.\.4094/) });
    }
    const rename = await rejects(() => store.replace('tenant', 'acme', { ...tenant, cid: 'other' }));
    expect(rename.issues[0]!.field).toBe('cid');
    expect((await rejects(() => store.replace('tenant', 'ghost', tenant))).code).toBe('invalid-input');
    expect((await rejects(() => store.replace('tenant', 'ghost', { ...tenant, cid: 'ghost' }))).code).toBe('not-found');
  });

  it('checks a pod against the devices: existence, role, one pod per ToR', async () => {
    await seedFabric();
    const unknown = await rejects(() => store.create('pod', { ...pod, id: 'p2', tors: ['t2', 'ghost'] }));
    expect(unknown.issues).toEqual([{ field: 'tors[1]', reason: "no device 'ghost'" }]);
    expect(unknown.message).toBe("invalid pod: tors[1]: no device 'ghost'");
    const taken = await rejects(() => store.create('pod', { ...pod, id: 'p2' }));
    expect(taken.issues[0]).toEqual({ field: 'tors[0]', reason: "ToR 't1' already belongs to pod 'p1'" });
    const role = await rejects(() => store.create('pod', { ...pod, id: 'p2', tors: ['t2'], wanGateway: 'g1' }));
    expect(role.issues[0]).toEqual({ field: 'wanGateway', reason: "device 'g1' has role tor-gw, not wan-gw" });
    // the pod itself may keep its ToR when replaced
    await store.replace('pod', 'p1', { ...pod, tors: ['t1', 't2'] });
    expect(await store.podOfDevice('t2')).toMatchObject({ id: 'p1' });
    expect(await store.podOfDevice('w1')).toBeNull();
    expect((await store.podsUsing('w1')).map((p) => p.id)).toEqual(['p1']);
  });

  it('refuses to delete or re-role what is still used (409), and changes nothing', async () => {
    await seedFabric();
    const listed = await rejects(() => store.remove('device', 'w1'));
    expect(listed).toMatchObject({ code: 'conflict', message: "device 'w1' is still listed by pod 'p1'" });
    const rerole = await rejects(() => store.replace('device', 't1', dev('t1', 'wan-gw')));
    expect(rerole).toMatchObject({ code: 'conflict', issues: [{ field: 'role' }] });
    // a device with desired state from two sessions
    await t.redis.hset(t.k.deviceContrib('t2'), 's1', '{}', 's2', '{}');
    expect((await rejects(() => store.remove('device', 't2'))).message).toBe("device 't2' is still used by 2 sessions");
    await t.redis.del(t.k.deviceContrib('t2'));
    await store.remove('device', 't2');

    await store.create('tenant', tenant);
    await store.create('vni', mapping('acme'));
    expect((await rejects(() => store.remove('tenant', 'acme'))).message).toMatch(/still has a CID mapping/);
    await t.redis.sadd(t.k.cidPods('acme'), 'p1');
    expect((await rejects(() => store.remove('vni', 'acme'))).message).toBe("CID 'acme' still holds VLANs in 1 pod");
    await t.redis.del(t.k.cidPods('acme'));
    await store.remove('vni', 'acme');
    await t.redis.hset(t.k.vniByCid, 'acme', '10000');
    expect((await rejects(() => store.remove('tenant', 'acme'))).message).toBe("CID 'acme' still holds a VNI");
  });

  it('keeps CID mappings tied to tenants and VNIs unique', async () => {
    const noTenant = await rejects(() => store.create('vni', mapping('acme', 5001)));
    expect(noTenant.issues).toEqual([{ field: 'cid', reason: "no tenant with CID 'acme'" }]);
    await store.create('tenant', tenant);
    await store.create('tenant', { ...tenant, cid: 'beta' });
    await store.create('vni', mapping('acme', 5001));
    const dup = await rejects(() => store.create('vni', mapping('beta', 5001)));
    expect(dup).toMatchObject({ code: 'conflict', message: "VNI 5001 is already given to CID 'acme'", issues: [{ field: 'vni' }] });
    await t.redis.hset(t.k.vniOwner, '6000', 'acme');
    expect((await rejects(() => store.create('vni', mapping('beta', 6000)))).message).toBe("VNI 6000 is in use by CID 'acme'");
  });

  it('applies a whole document idempotently, reports changes, and honours dry runs', async () => {
    const before = await t.snapshot();
    const planned = await store.apply(lab, { dryRun: true });
    expect(await t.snapshot()).toBe(before);
    expect(planned).toContainEqual({ kind: 'pod', id: 'pod1', action: 'created' });
    const applied = await store.apply(lab);
    expect(applied).toEqual(planned);
    expect(applied.filter((c) => c.kind === 'device')).toHaveLength(5);
    expect(await store.apply(lab)).toEqual([]);
    const pod1 = (await store.getPod('pod1'))!;
    expect(pod1.vlanRanges).toEqual(['1-4000']);
    expect((await store.getDevice('wan1'))!.mcastGroups).toEqual(['233.252.0.0/24']);

    const edited = structuredClone(lab) as { tenants: { cid: string; name: string }[]; pods: { id: string }[] };
    edited.tenants[1]!.name = 'Globex Inc';
    edited.pods = edited.pods.filter((p) => p.id !== 'pod2');
    expect(await store.apply(edited)).toEqual([
      { kind: 'tenant', id: 'globex', action: 'replaced' },
      { kind: 'pod', id: 'pod2', action: 'deleted' },
    ]);
    expect(await store.apply({ settings: { vniPool: ['20000-20999'] } })).toContainEqual({ kind: 'device', id: 'wan1', action: 'deleted' });
    expect(await store.list('device')).toEqual([]);
    expect(await store.getSettings()).toEqual({ vniPool: ['20000-20999'] });
    expect(await store.apply({})).toEqual([{ kind: 'settings', id: 'settings', action: 'replaced' }]);
    expect(await store.getSettings()).toEqual({ vniPool: ['10000-19999'] });
  });

  it('refuses a bad document whole: typo, dangling reference, duplicate, in-use deletion', async () => {
    await store.apply(lab);
    const typo = structuredClone(lab) as { tenants: Record<string, unknown>[] };
    typo.tenants[0]!.subnett = '192.0.2.0/24';
    expect((await rejects(() => store.apply(typo))).message).toBe('invalid inventory: tenants[0].subnett: unknown field');
    const dangling = structuredClone(lab) as { pods: { tors: string[] }[] };
    dangling.pods[1]!.tors = ['tor9'];
    expect((await rejects(() => store.apply(dangling))).issues).toEqual([{ field: 'pods[1].tors[0]', reason: "no device 'tor9'" }]);
    const dup = structuredClone(lab) as { tenants: unknown[] };
    dup.tenants.push(dup.tenants[0]);
    expect((await rejects(() => store.apply(dup))).issues).toEqual([{ field: 'tenants[2].cid', reason: 'CID acme is already given in tenants[0]' }]);
    await t.redis.hset(t.k.deviceContrib('tor3'), 'session-1', '{}');
    const gone = structuredClone(lab) as { devices: { id: string }[]; pods: { id: string }[] };
    gone.devices = gone.devices.filter((d) => d.id !== 'tor3');
    gone.pods = gone.pods.filter((p) => p.id !== 'pod2');
    expect((await rejects(() => store.apply(gone))).message).toBe("cannot delete: device 'tor3' is still used by 1 session");
  });

  it('stays consistent when two clients race: one ToR never ends up in two pods', async () => {
    await seedFabric();
    await store.remove('pod', 'p1');
    const other = new InventoryStore(t.redis.duplicate(), t.prefix);
    try {
      // many writers to one hash all land (WATCH conflicts are retried, not lost); this also warms
      // both connection pools, so the pod race below really interleaves reads and writes
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).create('tenant', { ...tenant, cid: `t${i}` })));
      expect(await store.list('tenant')).toHaveLength(40);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).create('pod', { ...pod, id: `race${i}` })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof NvoError)).toBe(true);
      expect((await store.list('pod')).flatMap((p) => p.tors)).toEqual(['t1']);
    } finally {
      await other.close();
      other.redis.disconnect();
    }
  });
});
