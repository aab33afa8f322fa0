// Use case 5 end to end: three hNVE agents as processes of their own (h1, h2 on pod1, h3 on pod2),
// the tenant and network proxies on real Redis, recorder data planes. After each INVITE, INFO add and
// INFO delete every member's MAC table and data plane are compared whole with what they must be;
// h3 is away during some changes and catches up from its revision when it is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vniKeys } from '../../../src/proxy/network/membership.ts';
import { HNVES, SECRETS, startStack, type Stack } from '../../proxy/harness.ts';
import { AgentHandle, type AgentSnapshot } from './agent-handle.ts';

let s: Stack;
const agents: Record<string, AgentHandle> = {};
const VTEP: Record<string, string> = Object.fromEntries(HNVES.map((h) => [h.id, h.vtep]));
const GATEWAYS = ['203.0.113.1', '203.0.113.2'];
/** The VNI's table as it must be: MAC → the hNVE it sits behind. */
const truth = new Map<string, string>();

beforeAll(async () => {
  s = await startStack();
  s.syncs[0]!.keepHistory();
  for (const nve of ['h1', 'h2', 'h3'] as const) {
    agents[nve] = await AgentHandle.spawn({ nve, secret: SECRETS[nve], urls: [s.url], ports: { [`02:00:00:00:0${nve[1]}:01`]: `vm-${nve}` } });
    await agents[nve].call('start');
  }
}, 60_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.kill();
  await s?.close();
});

function expected(nve: string): Pick<AgentSnapshot, 'config' | 'ports'> & { table: { mac: string; vtep: string }[] } {
  const table = [...truth].map(([mac, n]) => ({ mac, vtep: VTEP[n]! })).sort((a, b) => (a.mac < b.mac ? -1 : 1));
  const remote = table.filter((r) => r.vtep !== VTEP[nve]);
  const floods = [...new Set([...remote.map((r) => r.vtep), ...GATEWAYS])].sort().map((vtep) => ({ vni: 5001, vtep }));
  return {
    table,
    config: { vlans: [{ id: 1000, name: 'acme' }], vrfs: [], vnis: [{ vni: 5001, vlan: 1000, encapsulation: 'vxlan' }], floods, macs: remote.map((r) => ({ vni: 5001, ...r })), irbs: [] },
    ports: [{ port: `vm-${nve}`, vni: 5001 }],
  };
}

async function allExact(nves = ['h1', 'h2', 'h3']): Promise<void> {
  for (const nve of nves) {
    await expect
      .poll(async () => {
        const snap = await agents[nve]!.snapshot();
        const floods = [...snap.config.floods].sort((a, b) => (a.vtep < b.vtep ? -1 : 1));
        return { table: snap.tables.acme?.table, config: { ...snap.config, floods }, ports: snap.ports };
      }, { timeout: 20_000 })
      .toEqual(expected(nve));
  }
}

const callIds: Record<string, string> = {};

describe('INFO: MAC table changes reach every member NVE of the VNI', () => {
  it('each INVITE gives every member the exact table and data plane', async () => {
    for (const nve of ['h1', 'h2', 'h3']) {
      const mac = `02:00:00:00:0${nve[1]}:01`;
      const r = await agents[nve]!.call<{ status: number; reason: string; callId: string }>('invite', { mac, cid: 'acme' });
      expect(r.status, r.reason).toBe(200);
      callIds[nve] = r.callId;
      truth.set(mac, nve);
      await allExact(Object.keys(callIds));
    }
  }, 60_000);

  it('INFO add and delete on one hNVE: every other hNVE and the aNVEs get exactly the change, in order', async () => {
    const r1 = await agents.h1!.call<{ status: number; reason: string; body: { revision: number } }>('info', callIds.h1, { add: ['02:00:00:00:01:02', '02:00:00:00:01:03'] });
    expect(r1.status, r1.reason).toBe(200);
    truth.set('02:00:00:00:01:02', 'h1').set('02:00:00:00:01:03', 'h1');
    await allExact();
    // A delete right after the add it cancels, and an add on another hNVE in between: order holds.
    const [r2, r3] = await Promise.all([
      agents.h2!.call<{ status: number }>('info', callIds.h2, { add: ['02:00:00:00:02:02'] }),
      agents.h1!.call<{ status: number }>('info', callIds.h1, { delete: ['02:00:00:00:01:02'] }),
    ]);
    expect([r2.status, r3.status]).toEqual([200, 200]);
    truth.set('02:00:00:00:02:02', 'h2');
    truth.delete('02:00:00:00:01:02');
    await allExact();
    // The aNVEs: the WAN and ToR gateways carry every VM MAC of the VNI behind its hNVE.
    for (const dev of ['wan1', 'tgw1']) {
      const macs = (await s.state.desired(dev)).config.macs.filter((m) => m.vni === 5001).map((m) => ({ mac: m.mac, vtep: m.vtep }));
      expect(macs).toEqual(expected('h1').table);
    }
    // Every member acknowledged the last revision (the key `nvo show` reads).
    const rev = Number(await s.t.redis.get(vniKeys(s.t.k).rev('acme')));
    await expect.poll(() => s.t.redis.hgetall(vniKeys(s.t.k).ack('acme')), { timeout: 10_000 }).toEqual({ h1: String(rev), h2: String(rev), h3: String(rev) });
  }, 60_000);

  it('an INFO add and, at once, the delete that cancels it: the MAC is left at no member', async () => {
    const fromApply = s.syncs[0]!.history.length;
    const hist: Record<string, number> = {};
    for (const nve of ['h1', 'h2', 'h3']) hist[nve] = (await agents[nve]!.snapshot()).history.length;
    // Five pairs from h1 and two from h2, asked for together without waiting for any answer (the agents
    // keep order per session; before they did, a delete could overtake its add and the MAC stayed).
    const pairs = [...[1, 2, 3, 4, 5].map((i) => ['h1', `02:00:00:00:01:a${i}`]), ...[1, 2].map((i) => ['h2', `02:00:00:00:02:a${i}`])] as [string, string][];
    const answers = await Promise.all(
      pairs.flatMap(([nve, mac]) => [
        agents[nve]!.call<{ status: number; reason: string }>('info', callIds[nve], { add: [mac] }),
        agents[nve]!.call<{ status: number; reason: string }>('info', callIds[nve], { delete: [mac] }),
      ]),
    );
    expect(answers.map((a) => a.status), JSON.stringify(answers)).toEqual(answers.map(() => 200));
    await allExact();
    const raced = new Set(pairs.map(([, mac]) => mac));
    // Every member's last word on each raced MAC is its removal (or it never had it); some member heard
    // of the raced MACs at all, or the check below would pass on nothing.
    let heard = 0;
    for (const nve of ['h1', 'h2', 'h3']) {
      const snap = await agents[nve]!.snapshot();
      for (const mac of raced) {
        const touching = snap.history.slice(hist[nve]).filter((h) => h.op === 'apply' && [...h.change.merge.macs, ...h.change.remove.macs].some((m) => m.mac === mac));
        const last = touching.at(-1);
        if (!last) continue;
        heard++;
        expect(last.change.remove.macs.map((m) => m.mac), `${nve} ${mac}`).toContain(mac);
      }
      expect(snap.tables.acme!.table.filter((r) => raced.has(r.mac))).toEqual([]);
    }
    expect(heard).toBeGreaterThan(0);
    for (const dev of ['wan1', 'tgw1']) {
      await expect.poll(async () => (await s.state.applied(dev)).config.macs.filter((m) => raced.has(m.mac)), { timeout: 10_000 }).toEqual([]);
      const applied = s.syncs[0]!.history.slice(fromApply).filter((h) => h.device === dev);
      expect(applied.length, dev).toBeGreaterThan(0);
      expect(applied.at(-1)!.config.macs.filter((m) => raced.has(m.mac)), dev).toEqual([]);
    }
  }, 60_000);

  it('a MAC another session holds is refused with 409 and nothing changes', async () => {
    const before = await agents.h3!.snapshot();
    const r = await agents.h2!.call<{ status: number; reason: string }>('info', callIds.h2, { add: ['02:00:00:00:01:01'] });
    expect(r.status).toBe(409);
    expect(r.reason).toContain('02:00:00:00:01:01');
    await allExact();
    expect((await agents.h3!.snapshot()).tables.acme!.revision).toBe(before.tables.acme!.revision);
  }, 30_000);

  it('an hNVE away during changes catches up from its revision when it is back', async () => {
    await agents.h3!.call('stop');
    const away = (await agents.h3!.snapshot()).tables.acme!.revision;
    const hist = (await agents.h3!.snapshot()).history.length;
    expect((await agents.h1!.call<{ status: number }>('info', callIds.h1, { add: ['02:00:00:00:01:04'] })).status).toBe(200);
    expect((await agents.h2!.call<{ status: number }>('info', callIds.h2, { delete: ['02:00:00:00:02:02'] })).status).toBe(200);
    expect((await agents.h1!.call<{ status: number }>('info', callIds.h1, { delete: ['02:00:00:00:01:04'] })).status).toBe(200);
    expect((await agents.h1!.call<{ status: number }>('info', callIds.h1, { add: ['02:00:00:00:01:05'] })).status).toBe(200);
    truth.delete('02:00:00:00:02:02');
    truth.set('02:00:00:00:01:05', 'h1');
    await allExact(['h1', 'h2']);
    // h3 heard nothing meanwhile.
    expect((await agents.h3!.snapshot()).tables.acme!.revision).toBe(away);
    await agents.h3!.call('start');
    await allExact();
    const back = await agents.h3!.snapshot();
    expect(back.tables.acme!.revision).toBe(away + 4);
    // It caught up with the delta: one addition step (01:05 in) and one removal step (02:02 out); 01:04 came and went unseen.
    const applied = back.history.slice(hist).filter((h) => h.op === 'apply');
    expect(applied.map((h) => [h.change.merge.macs.map((m) => m.mac), h.change.remove.macs.map((m) => m.mac)])).toEqual([
      [['02:00:00:00:01:05'], []],
      [[], ['02:00:00:00:02:02']],
    ]);
  }, 60_000);

  it('BYE: the VM\'s MACs leave every member; the leaving hNVE drops the VNI', async () => {
    expect((await agents.h1!.call<{ status: number }>('bye', callIds.h1)).status).toBe(200);
    for (const [mac, nve] of [...truth]) if (nve === 'h1') truth.delete(mac);
    await allExact(['h2', 'h3']);
    const h1 = await agents.h1!.snapshot();
    expect(h1.config).toEqual({ vlans: [], vrfs: [], vnis: [], floods: [], macs: [], irbs: [] });
    expect(h1.ports).toEqual([]);
  }, 30_000);
});
