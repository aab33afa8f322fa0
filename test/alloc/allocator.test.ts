import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { Allocator, type VlanPool } from '../../src/alloc/allocator.ts';
import { NvoError } from '../../src/errors.ts';
import { rejection } from '../support/rejection.ts';

const run = promisify(execFile);
let t: TestRedis;
let alloc: Allocator;
beforeEach(async () => {
  t = await testRedis();
  alloc = new Allocator(t.redis, t.k);
});
afterEach(() => t.cleanup());

const pod = (ranges: string[]): VlanPool => ({ name: 'pod:p1', label: 'pod p1', ranges });
const wan = (ranges: string[]): VlanPool => ({ name: 'dev:wan1', label: 'wan-gw wan1', ranges });
const tgw = (ranges: string[]): VlanPool => ({ name: 'dev:tgw1', label: 'tor-gw tgw1', ranges });

describe('VLAN allocation across three pools', () => {
  it('finds the intersection when the lowest free VLAN differs in each of the three pools', async () => {
    const all = ['100-200'];
    // Occupy pod {101,102}, WAN gateway {100,102}, ToR gateway {100,101}, each by a CID of its own (a CID
    // already bound at a gateway would be pinned to its VLAN there). Lowest free: pod 100, WAN 101,
    // ToR gateway 102; the lowest free in all three is 103.
    const occupy = async (cid: string, pool: VlanPool, vlan: number) =>
      expect((await alloc.acquireVlan({ cid, pod: `occ-${cid}`, user: 'u', pools: [{ ...pool, ranges: [String(vlan)] }] })).vlan).toBe(vlan);
    await occupy('p101', pod(all), 101);
    await occupy('p102', pod(all), 102);
    await occupy('w100', wan(all), 100);
    await occupy('w102', wan(all), 102);
    await occupy('t100', tgw(all), 100);
    await occupy('t101', tgw(all), 101);
    const bits = (pool: string, from: number, to: number) =>
      Promise.all(Array.from({ length: to - from + 1 }, (_, i) => t.redis.getbit(t.k.vlanUsed(pool), from + i)));
    // The precondition the test is about: the three pools' lowest free VLANs (100, 101, 102) all differ.
    expect(await bits('pod:p1', 100, 103)).toEqual([0, 1, 1, 0]);
    expect(await bits('dev:wan1', 100, 103)).toEqual([1, 0, 1, 0]);
    expect(await bits('dev:tgw1', 100, 103)).toEqual([1, 1, 0, 0]);

    const r = await alloc.acquireVlan({ cid: 'acme', pod: 'p1', user: 'vm1', pools: [pod(all), wan(all), tgw(all)] });
    expect(r).toEqual({ vlan: 103, created: true });
    // Taken in all three pools, and nothing else changed in them.
    expect(await bits('pod:p1', 100, 104)).toEqual([0, 1, 1, 1, 0]);
    expect(await bits('dev:wan1', 100, 104)).toEqual([1, 0, 1, 1, 0]);
    expect(await bits('dev:tgw1', 100, 104)).toEqual([1, 1, 0, 1, 0]);
    for (const pool of ['pod:p1', 'dev:wan1', 'dev:tgw1']) expect(await t.redis.bitcount(t.k.vlanUsed(pool))).toBe(3);
    expect(await alloc.vlanOf('acme', 'p1')).toEqual({ vlan: 103, users: ['vm1'] });

    // Each pool must count: with 104 taken only in the pod, 105 only at the WAN gateway and 106 only at
    // the ToR gateway, leaving out any one pool would give 104, 105 or 106.
    await occupy('p104', pod(all), 104);
    await occupy('w105', wan(all), 105);
    await occupy('t106', tgw(all), 106);
    expect(await alloc.acquireVlan({ cid: 'beta', pod: 'p1', user: 'vm2', pools: [pod(all), wan(all), tgw(all)] })).toEqual({ vlan: 107, created: true });
    for (const pool of ['pod:p1', 'dev:wan1', 'dev:tgw1']) expect(await t.redis.getbit(t.k.vlanUsed(pool), 107)).toBe(1);
  });

  it('respects each pool own ranges', async () => {
    const r = await alloc.acquireVlan({ cid: 'acme', pod: 'p1', user: 'vm1', pools: [pod(['1-4000']), wan(['100-1999']), tgw(['1000-2999'])] });
    expect(r.vlan).toBe(1000);
  });

  it('reuses the binding for further VMs and frees it with the last one', async () => {
    const pools = [pod(['10-20']), wan(['10-20']), tgw(['10-20'])];
    const a = await alloc.acquireVlan({ cid: 'acme', pod: 'p1', user: 'vm1', pools });
    const b = await alloc.acquireVlan({ cid: 'acme', pod: 'p1', user: 'vm2', pools });
    const again = await alloc.acquireVlan({ cid: 'acme', pod: 'p1', user: 'vm1', pools });
    expect([a.created, b.created, again.created]).toEqual([true, false, false]);
    expect(b.vlan).toBe(a.vlan);
    expect(await alloc.releaseVlan({ cid: 'acme', pod: 'p1', user: 'vm1' })).toEqual({ vlan: a.vlan, freed: false });
    expect(await alloc.vlanOf('acme', 'p1')).toEqual({ vlan: a.vlan, users: ['vm2'] });
    expect(await alloc.releaseVlan({ cid: 'acme', pod: 'p1', user: 'vm2' })).toEqual({ vlan: a.vlan, freed: true });
    expect(await alloc.vlanOf('acme', 'p1')).toBeNull();
    expect(await alloc.podsOf('acme')).toEqual([]);
    // Released: the next tenant gets the same lowest VLAN again.
    expect((await alloc.acquireVlan({ cid: 'other', pod: 'p1', user: 'vm9', pools })).vlan).toBe(a.vlan);
  });

  it('names the pools and devices when exhausted, then works again after a release', async () => {
    const pools = [pod(['1-4000']), wan(['100-101']), tgw(['101-300'])];
    expect((await alloc.acquireVlan({ cid: 'a', pod: 'p1', user: 'u', pools })).vlan).toBe(101);
    const e = await rejection(alloc.acquireVlan({ cid: 'b', pod: 'p1', user: 'u', pools }), NvoError);
    expect(e.code).toBe('exhausted');
    expect(e.message).toMatch(/pod p1 \(1-4000\), wan-gw wan1 \(100-101\), tor-gw tgw1 \(101-300\)/);
    expect(e.message).toMatch(/common range 101/);
    expect(e.details).toMatchObject({ resource: 'vlan', cid: 'b', pod: 'p1' });
    await alloc.releaseVlan({ cid: 'a', pod: 'p1', user: 'u' });
    expect((await alloc.acquireVlan({ cid: 'b', pod: 'p1', user: 'u', pools })).vlan).toBe(101);
  });

  it('says when the pools have nothing in common', async () => {
    const e = await rejection(alloc.acquireVlan({ cid: 'a', pod: 'p1', user: 'u', pools: [pod(['1-10']), wan(['20-30'])] }), NvoError);
    expect(e.message).toMatch(/no VLAN in common/);
  });

  it('gives a CID on a second pod behind the same gateways the same VLAN', async () => {
    const gw = [wan(['100-200']), tgw(['100-200'])];
    const p2 = (ranges: string[]): VlanPool => ({ name: 'pod:p2', label: 'pod p2', ranges });
    const a = await alloc.acquireVlan({ cid: 'acme', pod: 'p1', user: 'vm1', pools: [pod(['1-4000']), ...gw] });
    const b = await alloc.acquireVlan({ cid: 'acme', pod: 'p2', user: 'vm2', pools: [p2(['1-4000']), ...gw] });
    expect(b.vlan).toBe(a.vlan);
    // The gateways keep it while either pod uses it.
    await alloc.releaseVlan({ cid: 'acme', pod: 'p1', user: 'vm1' });
    const c = await alloc.acquireVlan({ cid: 'other', pod: 'p1', user: 'vm3', pools: [pod(['1-4000']), ...gw] });
    expect(c.vlan).not.toBe(a.vlan);
    // On a third pod where that VLAN is taken, the error says why.
    const p3: VlanPool = { name: 'pod:p3', label: 'pod p3', ranges: ['1-4000'] };
    await alloc.acquireVlan({ cid: 'local', pod: 'p3', user: 'u', pools: [{ ...p3, ranges: [String(a.vlan)] }] });
    const e = await rejection(alloc.acquireVlan({ cid: 'acme', pod: 'p3', user: 'vm4', pools: [p3, ...gw] }), NvoError);
    expect(e.message).toMatch(new RegExp(`already uses VLAN ${a.vlan} .* not free at pod p3`));
  });
});

describe('VNI and multicast group allocation', () => {
  it('takes VNIs from the pool, honours given ones, and refuses a VNI owned by another CID', async () => {
    expect(await alloc.acquireVni('given', ['5000-5002'], 5000)).toBe(5000);
    expect(await alloc.acquireVni('a', ['5000-5002'])).toBe(5001);
    expect(await alloc.acquireVni('a', ['5000-5002'])).toBe(5001);
    expect((await rejection(alloc.acquireVni('b', ['5000-5002'], 5001), NvoError)).code).toBe('conflict');
    expect(await alloc.acquireVni('b', ['5000-5002'])).toBe(5002);
    const e = await rejection(alloc.acquireVni('c', ['5000-5002']), NvoError);
    expect(e.code).toBe('exhausted');
    expect(e.message).toMatch(/5000-5002/);
    expect(await alloc.releaseVni('a')).toBe(5001);
    expect(await alloc.acquireVni('c', ['5000-5002'])).toBe(5001);
    expect(await alloc.vniOf('c')).toBe(5001);
  });

  it('hands out groups per CID per gateway and frees them with the last user', async () => {
    const pool = ['239.1.1.0/31', '239.2.0.0/32'];
    const g1 = await alloc.acquireGroup({ cid: 'acme', device: 'wan1', user: 's1', pool });
    const g1b = await alloc.acquireGroup({ cid: 'acme', device: 'wan1', user: 's2', pool });
    const g2 = await alloc.acquireGroup({ cid: 'beta', device: 'wan1', user: 's3', pool });
    const g3 = await alloc.acquireGroup({ cid: 'gamma', device: 'wan1', user: 's4', pool });
    expect([g1.group, g1b.group, g2.group, g3.group]).toEqual(['239.1.1.0', '239.1.1.0', '239.1.1.1', '239.2.0.0']);
    const e = await rejection(alloc.acquireGroup({ cid: 'delta', device: 'wan1', user: 's5', pool }), NvoError);
    expect(e.message).toMatch(/multicast group pool exhausted on wan1/);
    expect(await alloc.releaseGroup({ cid: 'acme', device: 'wan1', user: 's1', pool })).toEqual({ group: '239.1.1.0', freed: false });
    expect(await alloc.releaseGroup({ cid: 'acme', device: 'wan1', user: 's2', pool })).toEqual({ group: '239.1.1.0', freed: true });
    expect((await alloc.acquireGroup({ cid: 'delta', device: 'wan1', user: 's5', pool })).group).toBe('239.1.1.0');
  });
});

describe('across processes', () => {
  it('2 processes × 500 concurrent requests never hand out a VLAN, VNI or group twice', async () => {
    const worker = (tag: string) =>
      run(process.execPath, ['--import', 'tsx', 'test/alloc/alloc-worker.ts', t.prefix, tag, '500'], { maxBuffer: 16 << 20 }).then(
        (r) => JSON.parse(r.stdout) as { cid: string; vlan: number; vni: number; group: string }[],
      );
    const [a, b] = await Promise.all([worker('a'), worker('b')]);
    const all = [...a, ...b];
    expect(all).toHaveLength(1000);
    const byCid = new Map<string, { vlan: number; vni: number; group: string }>();
    for (const r of all) {
      const seen = byCid.get(r.cid);
      if (seen) expect(seen).toEqual({ vlan: r.vlan, vni: r.vni, group: r.group }); // shared CIDs agree
      else byCid.set(r.cid, { vlan: r.vlan, vni: r.vni, group: r.group });
    }
    expect(byCid.size).toBe(750); // 250 own per process + 250 shared
    const distinct = (f: (v: { vlan: number; vni: number; group: string }) => unknown) => new Set([...byCid.values()].map(f)).size;
    expect(distinct((v) => v.vlan)).toBe(750);
    expect(distinct((v) => v.vni)).toBe(750);
    expect(distinct((v) => v.group)).toBe(750);
    for (const v of byCid.values()) expect(v.vlan >= 100 && v.vlan <= 2500).toBe(true);
    // The bitmaps agree with the bindings: exactly 750 VLANs marked in each pool.
    for (const pool of ['pod:p1', 'dev:wan1', 'dev:tgw1']) expect(await t.redis.bitcount(t.k.vlanUsed(pool))).toBe(750);
  });
});
