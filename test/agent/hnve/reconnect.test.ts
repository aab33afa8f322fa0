// The agent's connection: two tenant-proxy processes' worth of servers on one Redis; h1 lists both.
// When the first goes away, h1 moves to the second by itself, registers again, re-learns its sessions
// and tables (a change made meanwhile included) and goes on using its session — with CSeqs that kept
// growing across the reconnect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { TenantProxy } from '../../../src/proxy/tenant/tenant-proxy.ts';
import { connectRedis } from '../../../src/store/redis.ts';
import { SECRETS, startStack, type Stack } from '../../proxy/harness.ts';

let s: Stack;
let b: TenantProxy;
const sub = connectRedis(undefined, { name: 'nvo-test-sub-b' });
const agents: HnveAgent[] = [];

beforeAll(async () => {
  s = await startStack();
  b = new TenantProxy({ ...s.tenant.opts, port: 0, subscriber: sub });
}, 30_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  await b?.close();
  await s?.close();
  sub.disconnect();
});

describe('an agent whose tenant proxy goes away', () => {
  it('moves to the next URL, registers again and re-learns what changed meanwhile', async () => {
    const urlB = `ws://127.0.0.1:${await b.start()}`;
    const h1 = new HnveAgent({ nve: 'h1', secret: SECRETS.h1, urls: [s.url, urlB], proxy: 'tp1', dataPlane: new RecorderDataPlane(undefined, { references: true }), reconnectMs: 100 });
    const h2 = new HnveAgent({ nve: 'h2', secret: SECRETS.h2, urls: [urlB], proxy: 'tp1', dataPlane: new RecorderDataPlane(undefined, { references: true }) });
    agents.push(h1, h2);
    const ready: string[] = [];
    h1.on('ready', (r: { url: string }) => ready.push(r.url));
    await h1.start();
    await h2.start();
    const v1 = await h1.invite({ mac: '02:00:00:00:01:01', cid: 'acme' });
    const v2 = await h2.invite({ mac: '02:00:00:00:02:01', cid: 'acme' });
    expect([v1.status, v2.status]).toEqual([200, 200]);
    await expect.poll(() => h1.tables.get('acme')?.rows.get('02:00:00:00:02:01')).toBe('192.0.2.202');

    // A goes; h2 adds a MAC while h1 is away (its NOTIFY cannot reach h1).
    await s.tenant.close();
    await expect.poll(() => h1.connected).toBe(false);
    expect((await h2.info(v2.callId, { add: ['02:00:00:00:02:02'] })).status).toBe(200);
    await expect.poll(() => ready.length, { timeout: 20_000 }).toBe(2);
    expect(ready).toEqual([s.url, urlB]);
    expect(h1.tables.get('acme')?.rows.get('02:00:00:00:02:02')).toBe('192.0.2.202');
    expect((await (h1.plane() as RecorderDataPlane).read()).macs.map((m) => m.mac)).toEqual(['02:00:00:00:02:01', '02:00:00:00:02:02']);
    // Its session is still its own and usable through B (CSeq above what it used through A).
    const info = await h1.info(v1.callId, { add: ['02:00:00:00:01:02'] });
    expect(info.status, info.reason).toBe(200);
    await expect.poll(() => h2.tables.get('acme')?.rows.get('02:00:00:00:01:02')).toBe('192.0.2.201');
  }, 60_000);
});
