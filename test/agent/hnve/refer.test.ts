// Use case 6 (REFER, make-before-break) with agent processes and recorder data planes: h1's VM moves
// to h4 (same pod) while h2 (pod1) and h3 (pod2) keep talking to it. Replaying every member's
// recorded history proves the VM was reachable at every instant, and that the new location's
// entries were in place at every member before anything of the old one went: the hNVEs by their
// recorder histories, the aNVEs by the configurations the in-memory device sync applied. A target that fails
// to prepare leaves everything as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChange, emptyConfig, type DeviceConfig } from '../../../src/model/device-config.ts';
import { NveStore } from '../../../src/store/nve-store.ts';
import { HNVES, SECRETS, startStack, type Stack } from '../../proxy/harness.ts';
import { AgentHandle, type AgentSnapshot } from './agent-handle.ts';

const H4 = { id: 'h4', pod: 'pod1', vtep: '192.0.2.204', encapsulations: ['vxlan'], secret: 'secret-of-h4-0123456789' };
const VTEP: Record<string, string> = { ...Object.fromEntries(HNVES.map((h) => [h.id, h.vtep])), h4: H4.vtep };
const VM = '02:00:00:00:01:01';
const H1_VTEP = HNVES.find((h) => h.id === 'h1')!.vtep;
let s: Stack;
const agents: Record<string, AgentHandle> = {};
const callIds: Record<string, string> = {};

beforeAll(async () => {
  s = await startStack();
  s.syncs[0]!.keepHistory();
  await new NveStore(s.t.redis, s.t.k, s.inventory).put(H4);
  const secrets: Record<string, string> = { ...SECRETS, h4: H4.secret };
  for (const nve of ['h1', 'h2', 'h3', 'h4']) {
    agents[nve] = await AgentHandle.spawn({ nve, secret: secrets[nve]!, urls: [s.url], ports: nve === 'h4' ? { [VM]: 'vm1-on-h4' } : { [VM]: 'vm1' } });
    await agents[nve].call('start');
  }
  for (const nve of ['h1', 'h2', 'h3']) {
    const r = await agents[nve]!.call<{ status: number; reason: string; callId: string }>('invite', { mac: `02:00:00:00:0${nve[1]}:01`, cid: 'acme' });
    expect(r.status, r.reason).toBe(200);
    callIds[nve] = r.callId;
  }
  await agents.h1!.call('info', callIds.h1, { add: ['02:00:00:00:01:02'] });
}, 90_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.kill();
  await s?.close();
});

const referStatuses = (a: AgentHandle, referId: string) => a.events.filter((e) => e.event === 'refer' && e.body.referId === referId).map((e) => e.body.status as number);
const macAt = (c: DeviceConfig, mac: string) => c.macs.find((m) => m.mac === mac)?.vtep;

/** The data plane after each recorded operation, with the operation's time. */
function replay(h: AgentSnapshot['history']): { at: number; config: DeviceConfig }[] {
  let c = emptyConfig();
  return h.map((op) => {
    if (op.op === 'apply' || op.op === 'reconcile') c = applyChange(c, op.change);
    return { at: Date.parse(op.at), config: c };
  });
}

describe('REFER: make-before-break moves of an hNVE\'s sessions', () => {
  it('a target that fails to prepare leaves the old side untouched and working', async () => {
    const before = { h2: await agents.h2!.snapshot(), h3: await agents.h3!.snapshot(), wan1: (await s.state.desired('wan1')).config };
    await agents.h4!.call('failNext', 'tap device busy (the test says so)');
    const r = await agents.h1!.call<{ status: number; body: { referId: string } }>('refer', { to: 'h4' });
    expect(r.status).toBe(202);
    await expect.poll(() => referStatuses(agents.h1!, r.body.referId).at(-1), { timeout: 20_000 }).toBe(503);
    const final = agents.h1!.events.filter((e) => e.event === 'refer' && e.body.referId === r.body.referId).at(-1)!.body;
    expect(final.sipfrag).toMatch(/^SIP\/2.0 503 .*tap device busy/);
    // h1 still owns its VM; nobody else's table or data plane moved; the aNVEs were not touched.
    const h1 = await agents.h1!.snapshot();
    expect(h1.sessions.map((x) => x.mac)).toEqual([VM]);
    expect(h1.ports).toEqual([{ port: 'vm1', vni: 5001 }]);
    for (const nve of ['h2', 'h3'] as const) {
      const now = await agents[nve]!.snapshot();
      expect(now.config).toEqual(before[nve].config);
      expect(now.history.length).toBe(before[nve].history.length);
    }
    expect((await s.state.desired('wan1')).config).toEqual(before.wan1);
    const h4 = await agents.h4!.snapshot();
    expect(h4.config).toEqual(emptyConfig());
    expect(h4.sessions).toEqual([]);
  }, 60_000);

  it('moves h1\'s sessions to h4: reachable at every instant, new entries everywhere before old ones go', async () => {
    const start = Date.now();
    const fromApply = s.syncs[0]!.history.length;
    const r = await agents.h1!.call<{ status: number; reason: string; body: { referId: string } }>('refer', { to: 'h4' });
    expect(r.status, r.reason).toBe(202);
    await expect.poll(() => referStatuses(agents.h1!, r.body.referId).at(-1), { timeout: 30_000 }).toBe(200);
    // RFC 3515: 202, then NOTIFYs with the progress (100, 183s) and the final status.
    expect(referStatuses(agents.h1!, r.body.referId)).toEqual([100, 183, 183, 183, 183, 200]);

    const snaps: Record<string, AgentSnapshot> = {};
    for (const nve of ['h1', 'h2', 'h3', 'h4']) snaps[nve] = await agents[nve]!.snapshot();
    // Ownership moved; h1 has nothing left; h4 has the VM's port in the segment.
    await expect.poll(async () => (await agents.h1!.snapshot()).config, { timeout: 10_000 }).toEqual(emptyConfig());
    expect(snaps.h4!.sessions.map((x) => [x.mac, x.pending])).toEqual([[VM, null]]);
    expect(snaps.h4!.ports).toEqual([{ port: 'vm1-on-h4', vni: 5001 }]);
    for (const nve of ['h2', 'h3']) {
      expect(macAt(snaps[nve]!.config, VM)).toBe(VTEP.h4);
      expect(macAt(snaps[nve]!.config, '02:00:00:00:01:02')).toBe(VTEP.h4);
      expect(snaps[nve]!.config.floods.map((f) => f.vtep)).not.toContain(VTEP.h1);
    }
    for (const dev of ['wan1', 'tgw1']) expect(macAt((await s.state.desired(dev)).config, VM)).toBe(VTEP.h4);
    expect((await s.state.desired('tor1')).config.floods.map((f) => f.vtep).sort()).toEqual([VTEP.h2, VTEP.h4].sort());

    // Every member, after every operation: the VM's MAC points at h1 or h4, with a tunnel to it.
    const switchedAt: number[] = [];
    const oldGoneAt: number[] = [];
    for (const nve of ['h2', 'h3']) {
      const states = replay(snaps[nve]!.history).filter((x) => x.at >= start - 1);
      for (const { config } of states) {
        const at = macAt(config, VM);
        expect([VTEP.h1, VTEP.h4]).toContain(at);
        expect(config.floods.map((f) => f.vtep)).toContain(at);
      }
      switchedAt.push(states.find((x) => macAt(x.config, VM) === VTEP.h4)!.at);
      oldGoneAt.push(states.find((x) => !x.config.floods.some((f) => f.vtep === VTEP.h1))!.at);
    }
    // h1 itself tears down only after every member switched; h4 was ready before any switched.
    const h1States = replay(snaps.h1!.history);
    oldGoneAt.push(h1States.find((x) => x.at >= start && x.config.vnis.length === 0)!.at);
    const h4Ready = replay(snaps.h4!.history).find((x) => x.config.vnis.length === 1 && macAt(x.config, '02:00:00:00:02:01') === VTEP.h2)!.at;
    expect(h4Ready).toBeLessThanOrEqual(Math.min(...switchedAt));
    expect(Math.max(...switchedAt)).toBeLessThanOrEqual(Math.min(...oldGoneAt));

    // The aNVEs, from what the device sync applied, revision by revision (the last one before the
    // move included): the moved MACs point at h1 or h4 with a tunnel to it in every applied revision,
    // and h4's entries came in a revision before, or the same as, the one that took h1's away.
    const [OLD, NEW] = [H1_VTEP, H4.vtep];
    const history = s.syncs[0]!.history;
    const movedMacs = [VM, '02:00:00:00:01:02'];
    const devices = [...new Set(history.slice(fromApply).map((h) => h.device))].sort();
    expect(devices).toEqual(['tgw1', 'tor1', 'tor2', 'wan1']);
    const withMacs: string[] = [];
    for (const dev of devices) {
      const before = history.slice(0, fromApply).filter((h) => h.device === dev).at(-1)!;
      const seq = [before, ...history.slice(fromApply).filter((h) => h.device === dev)];
      const holdsMacs = movedMacs.every((m) => macAt(before.config, m) === OLD);
      if (holdsMacs) withMacs.push(dev);
      const floods = (c: DeviceConfig) => c.floods.map((f) => f.vtep);
      for (const [i, { revision, config }] of seq.entries()) {
        if (i > 0) expect(revision, dev).toBeGreaterThan(seq[i - 1]!.revision);
        expect(floods(config).some((v) => v === OLD || v === NEW), `${dev} r${revision}: no tunnel to h1 or h4`).toBe(true);
        for (const m of holdsMacs ? movedMacs : []) {
          const at = macAt(config, m);
          expect([OLD, NEW], `${dev} r${revision}: ${m}`).toContain(at);
          expect(floods(config), `${dev} r${revision}: ${m} without a tunnel to ${at}`).toContain(at);
        }
      }
      const hasNew = (c: DeviceConfig) => floods(c).includes(NEW) && (!holdsMacs || movedMacs.every((m) => macAt(c, m) === NEW));
      const oldGone = (c: DeviceConfig) => !floods(c).includes(OLD) && !c.macs.some((m) => m.vtep === OLD);
      const newAt = seq.findIndex((x) => hasNew(x.config));
      const goneAt = seq.findIndex((x) => oldGone(x.config));
      expect(newAt, `${dev}: h4's entries never applied`).toBeGreaterThan(0);
      expect(goneAt, `${dev}: h1's entries never went`).toBeGreaterThan(0);
      expect(newAt, `${dev}: h1's entries went (r${seq[goneAt]!.revision}) before h4's came (r${seq[newAt]!.revision})`).toBeLessThanOrEqual(goneAt);
      expect(oldGone(seq.at(-1)!.config) && hasNew(seq.at(-1)!.config), dev).toBe(true);
    }
    expect(withMacs).toEqual(['tgw1', 'wan1']);

    // The moved session is h4's now: it can end it, and the table empties of it everywhere.
    const bye = await agents.h4!.call<{ status: number }>('bye', callIds.h1);
    expect(bye.status).toBe(200);
    await expect.poll(async () => macAt((await agents.h2!.snapshot()).config, VM), { timeout: 10_000 }).toBeUndefined();
  }, 90_000);
});
