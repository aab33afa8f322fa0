// Forking to two network proxies of one pod (np1: ToRs, np2: gateways), and 200 INVITEs at once.
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.ts';

let s: Stack;
afterEach(() => s?.close());

const allocAndState = async () => {
  const snap = await s.t.snapshot();
  // Allocator, device contributions, membership and sessions; not revision counters, nonces or transactions.
  return snap.split('\n').filter((l) => /:(alloc|dev:contrib|np:members|sess|np:branch):/.test(l)).join('\n');
};

describe('forking', () => {
  it('rolls back the branch that succeeded when the other fails, and names the failing branch', async () => {
    s = await startStack({ networks: [['tor1', 'tor2', 'tor3'], ['wan1', 'tgw1']] });
    const h1 = await s.agent('h1');
    expect((await h1.register(60)).status).toBe(200);
    const ok = await h1.invite({ mac: '02:00:00:00:01:01' }, 'acme');
    expect(ok.status, ok.reason).toBe(200);
    expect(ok.body.branches).toEqual([{ proxy: 'np1', devices: ['tor1', 'tor2'] }, { proxy: 'np2', devices: ['wan1', 'tgw1'] }]);
    const before = await allocAndState();

    s.syncs[1]!.fail('wan1', 'invalid-value: VLAN 1000 is reserved on this line card');
    const bad = await h1.invite({ mac: '02:00:00:00:01:02' }, 'acme');
    expect(bad.status).toBe(500);
    expect(bad.reason).toBe('branch np2: wan1: invalid-value: VLAN 1000 is reserved on this line card');
    expect(bad.body).toMatchObject({ branch: 'np2', error: { code: 'device-error' } });
    expect(await allocAndState()).toBe(before);

    // A branch that never answers: 408 after the configured time, then CANCEL; nothing leaks either.
    s.syncs[1]!.heal('wan1');
    await s.close();
    s = await startStack({ networks: [['tor1', 'tor2', 'tor3'], ['wan1', 'tgw1']], branchTimeoutMs: 500 });
    const h2 = await s.agent('h2');
    await h2.register(60);
    // One session in and out first: the CID keeps its VNI (by design) and the pools their (now empty) bitmaps.
    const once = await h2.invite({ mac: '02:00:00:00:02:01' }, 'globex');
    expect((await h2.bye(once.callId)).status).toBe(200);
    const clean = await allocAndState();
    s.syncs[1]!.hang('wan1');
    const late = await h2.invite({ mac: '02:00:00:00:02:02' }, 'globex');
    expect(late.status).toBe(408);
    expect(late.body).toMatchObject({ branch: 'np2' });
    expect(late.reason).toMatch(/^branch np2: Request Timeout/);
    // np2 is still waiting for its device (deadline 2 s); when it gives up it undoes its part too.
    await expect.poll(allocAndState, { timeout: 10_000, interval: 200 }).toBe(clean);
  }, 60_000);

  it('200 INVITEs at once from 20 connections for 5 CIDs: no VLAN twice per device, every desired state complete', async () => {
    s = await startStack({ networks: [['tor1', 'tor2', 'tor3'], ['wan1', 'tgw1']] });
    const cids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    for (const [i, cid] of cids.entries()) {
      await s.inventory.create('tenant', { cid, name: cid, subnet: `198.51.100.${i * 32}/27`, gateway: `198.51.100.${i * 32 + 1}`, encapsulations: ['vxlan'] });
      await s.inventory.create('vni', { cid, vrf: { name: cid, rd: `65000:${i + 10}`, importTargets: [`65000:${i + 10}`], exportTargets: [`65000:${i + 10}`] } });
    }
    const agents: Awaited<ReturnType<Stack['agent']>>[] = [];
    for (let i = 0; i < 20; i++) {
      const a = await s.agent((['h1', 'h2', 'h3'] as const)[i % 3]!);
      agents.push(a);
    }
    for (const a of agents.slice(0, 3)) expect((await a.register(300)).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const a = agents[i % 20]!;
        const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
        return a.invite({ mac }, cids[i % 5]!);
      }),
    );
    expect(results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.reason}`)).toEqual([]);
    const vlanOf = new Map<string, number>();
    for (const r of results) {
      const key = `${String(r.body.cid)}`;
      if (vlanOf.has(key)) expect(r.body.vlan).toBe(vlanOf.get(key)); // one VLAN per CID behind shared gateways
      vlanOf.set(key, r.body.vlan as number);
    }
    expect(new Set(vlanOf.values()).size).toBe(5);
    for (const dev of ['tor1', 'tor2', 'tor3', 'wan1', 'tgw1']) {
      const { config } = await s.state.desired(dev);
      const vlans = config.vlans.map((v) => v.id);
      expect(new Set(vlans).size).toBe(vlans.length);
      expect(config.vlans.map((v) => [v.name, v.id]).sort()).toEqual([...vlanOf].filter(() => true).map(([c, v]) => [c, v]).sort());
      if (dev === 'wan1' || dev === 'tgw1') expect(config.macs).toHaveLength(200);
    }
    expect((await s.state.desired('tor1')).config.floods).toHaveLength(5 * 2); // h1, h2 per CID on pod1
  }, 120_000);
});
