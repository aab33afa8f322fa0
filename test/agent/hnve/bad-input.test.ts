// A proxy (here: the real tenant proxy's own connection to the agent, made to misbehave) pushing
// malformed or contradictory MAC-table entries gets an error naming what is wrong, and the agent's
// table and data plane stay exactly as they were. Entries out of order wait for the missing one; a
// gap that stays open is repaired from the proxy's own state.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import type { Response } from '../../../src/proxy/protocol/messages.ts';
import { SECRETS, startStack, type Stack } from '../../proxy/harness.ts';

let s: Stack;
let agent: HnveAgent;
const plane = new RecorderDataPlane(undefined, { references: true });

beforeAll(async () => {
  s = await startStack();
  agent = new HnveAgent({ nve: 'h1', secret: SECRETS.h1, urls: [s.url], proxy: 'tp1', dataPlane: plane, gapWaitMs: 200 });
  await agent.start();
  expect((await agent.invite({ mac: '02:00:00:00:01:01', cid: 'acme' })).status).toBe(200);
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await s?.close();
});

function push(body: Record<string, unknown>): Promise<Response> {
  const conn = s.tenant.server.connectionOf('h1')!;
  return conn.request({ method: 'NOTIFY', tid: randomUUID(), cseq: 1, callId: 'vni-acme', from: 'tp1', to: 'h1', body });
}

const entry = (e: Record<string, unknown>) => ({ revision: 0, added: [], removed: [], floodsAdded: [], floodsRemoved: [], ...e });
const row = { mac: '02:00:00:00:09:01', vtep: '192.0.2.209' };

describe('an hNVE agent refuses bad pushes and changes nothing', () => {
  const cases: [string, () => Record<string, unknown>, number, RegExp][] = [
    ['a MAC that is not one', () => ({ entries: [entry({ added: [{ mac: 'zz:00:00:00:00:01', vtep: '192.0.2.209' }] })] }), 400, /entries\[0\]\.added\[0\]\.mac: 'zz:00:00:00:00:01' is not a MAC/],
    ['a multicast MAC', () => ({ entries: [entry({ added: [{ mac: '01:00:5e:00:00:01', vtep: '192.0.2.209' }] })] }), 400, /entries\[0\]\.added\[0\]\.mac: .*multicast/],
    ['a VTEP that is not an address', () => ({ entries: [entry({ added: [{ mac: row.mac, vtep: '192.0.2.300' }] })] }), 400, /vtep/],
    ['a VNI this hNVE has no session in', () => ({ cid: 'globex', vni: 10000, base: 0, revision: 1, entries: [entry({ revision: 1, added: [row] })] }), 481, /globex/],
    ['a VNI number that contradicts the CID', () => ({ vni: 9999, entries: [entry({ added: [row] })] }), 400, /VNI 5001 here, not 9999/],
    ['one MAC behind two VTEPs in one entry', () => ({ entries: [entry({ added: [row, { ...row, vtep: '192.0.2.210' }] })] }), 400, /two VTEPs/],
    ['one MAC added and removed in one entry', () => ({ entries: [entry({ added: [row], removed: [row] })] }), 400, /both added and removed/],
    ['revisions that do not follow the base', () => ({ entries: [entry({ added: [row], revision: 77 })], revision: 77 }), 400, /entries\[0\]\.revision: must be/],
    ['an unknown field', () => ({ entries: [entry({ added: [row], extra: 1 })] }), 400, /extra/],
    ['an event nobody knows', () => ({ event: 'mac-tables' }), 400, /mac-tables/],
  ];
  for (const [what, body, status, reason] of cases) {
    it(`refuses ${what} with ${status}`, async () => {
      const t = agent.tables.get('acme')!;
      const before = { revision: t.revision, table: t.table(), config: await plane.read(), history: plane.history.length };
      const base = t.revision;
      const b: Record<string, unknown> = { event: 'mac-table', cid: 'acme', vni: 5001, base, revision: base + 1, ...body() };
      if (Array.isArray(b.entries)) b.entries = (b.entries as Record<string, unknown>[]).map((e, i) => (e.revision === 0 ? { ...e, revision: base + i + 1 } : e));
      const r = await push(b);
      expect(r.status).toBe(status);
      expect(r.reason).toMatch(reason);
      expect({ revision: t.revision, table: t.table(), config: await plane.read(), history: plane.history.length }).toEqual(before);
    });
  }

  it('still takes a good entry afterwards', async () => {
    const base = agent.tables.get('acme')!.revision;
    const r = await push({ event: 'mac-table', cid: 'acme', vni: 5001, base, revision: base + 1, entries: [entry({ revision: base + 1, added: [row] })] });
    expect(r.status, r.reason).toBe(200);
    expect(r.body.revision).toBe(base + 1);
    expect((await plane.read()).macs).toContainEqual({ vni: 5001, ...row });
  });

  it('applies entries in order: a later one waits for the missing one; a gap that stays open is repaired from the proxy', async () => {
    const t = agent.tables.get('acme')!;
    const base = t.revision;
    const r2 = { mac: '02:00:00:00:09:02', vtep: '192.0.2.209' };
    const r3 = { mac: '02:00:00:00:09:03', vtep: '192.0.2.209' };
    // base+2 before base+1: held back, nothing applied.
    const early = await push({ event: 'mac-table', cid: 'acme', vni: 5001, base: base + 1, revision: base + 2, entries: [entry({ revision: base + 2, removed: [row], added: [r2] })] });
    expect(early.status).toBe(200);
    expect(early.body).toEqual({ cid: 'acme', revision: base, waiting: true });
    expect((await plane.read()).macs.map((m) => m.mac)).not.toContain(r2.mac);
    const late = await push({ event: 'mac-table', cid: 'acme', vni: 5001, base, revision: base + 1, entries: [entry({ revision: base + 1, added: [r3] })] });
    expect(late.body).toEqual({ cid: 'acme', revision: base + 2 });
    expect((await plane.read()).macs.map((m) => m.mac).sort()).toEqual([r2.mac, r3.mac].sort());
    // A gap nobody fills (these entries never existed at the proxy): the agent asks for the state and
    // takes the proxy's table, which has none of what this test pushed.
    const gap = await push({ event: 'mac-table', cid: 'acme', vni: 5001, base: base + 3, revision: base + 4, entries: [entry({ revision: base + 4, added: [row] })] });
    expect(gap.body.waiting).toBe(true);
    const truth = (await s.tenant.deps.members.snapshot('acme')).table;
    await expect.poll(() => agent.tables.get('acme')!.table(), { timeout: 10_000 }).toEqual(truth);
    await expect.poll(async () => (await plane.read()).macs.map((m) => m.mac)).toEqual([]);
    expect(agent.tables.get('acme')!.gap).toBe(false);
  });
});
