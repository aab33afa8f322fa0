// INFO fan-out at scale: one VNI with 500 member hNVEs (agents share this process; each has its own
// connection, registration and data plane). Every member must receive and apply each change — the
// test counts them; `npm run bench:fanout` measures how long it takes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vniKeys } from '../../../src/proxy/network/membership.ts';
import { startFleet, type Fleet } from './fleet.ts';

const N = 500;
let f: Fleet;

beforeAll(async () => {
  f = await startFleet(N);
}, 300_000);

afterAll(async () => {
  await f?.close();
});

describe(`INFO fan-out to ${N} members of one VNI`, () => {
  it('every member has the whole table from the start', () => {
    expect(f.agents.length).toBe(N - 1);
    for (const a of f.agents) expect(a.tables.get('acme')?.rows.size).toBe(N);
  });

  it('an INFO add and then a delete reach every member, in order, into every data plane', async () => {
    const mac = '02:00:00:00:01:99';
    const add = await f.h1.info(f.callId, { add: [mac] });
    expect(add.status, add.reason).toBe(200);
    await expect.poll(() => f.agents.filter((a) => a.tables.get('acme')?.rows.get(mac) === '192.0.2.201').length, { timeout: 60_000, interval: 200 }).toBe(N - 1);
    const del = await f.h1.info(f.callId, { delete: [mac] });
    expect(del.status, del.reason).toBe(200);
    await expect.poll(() => f.agents.filter((a) => !a.tables.get('acme')?.rows.has(mac)).length, { timeout: 60_000, interval: 200 }).toBe(N - 1);
    // The data planes followed: the MAC came and went exactly once at every member.
    for (const a of f.agents) {
      const ops = (a.opts.dataPlane as unknown as { history: { change: { merge: { macs: { mac: string }[] }; remove: { macs: { mac: string }[] } } }[] }).history;
      expect(ops.filter((o) => o.change.merge.macs.some((m) => m.mac === mac)).length).toBe(1);
      expect(ops.filter((o) => o.change.remove.macs.some((m) => m.mac === mac)).length).toBe(1);
    }
    // And acknowledged it: the per-member revision `nvo show` reads is the VNI's revision for all 500.
    const rev = Number(await f.s.t.redis.get(vniKeys(f.s.t.k).rev('acme')));
    await expect.poll(async () => Object.values(await f.s.t.redis.hgetall(vniKeys(f.s.t.k).ack('acme'))).filter((r) => Number(r) === rev).length, { timeout: 30_000 }).toBe(N);
  }, 180_000);
});
