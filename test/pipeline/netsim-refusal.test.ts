// netsim's failure injection in the whole chain: hNVE client → tenant proxy → network proxy → BullMQ
// pipeline → NETCONF driver → three simulated devices. A device that refuses the commit makes the
// INVITE fail with the device's own words, and the session is rolled back on every device it touched:
// the devices that accepted their part take it away again, and nothing of it stays allocated.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { getRunning } from '../../src/drivers/netconf/device-ops.ts';
import type { Device } from '../../src/model/device.ts';
import { normalizeConfig } from '../../src/model/device-config.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { netconfDriver } from '../../src/pipeline/netconf-adapter.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { NetworkProxy } from '../../src/proxy/network/network-proxy.ts';
import { Allocator } from '../../src/alloc/allocator.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { testFleet } from '../netsim/support.ts';
import { startTenantProxy } from '../proxy/harness.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

const SECRET = 'secret-of-h1-0123456789';
let fleet: Fleet;
let t: TestRedis;
let inventory: InventoryStore;
let pipeline: Pipeline;
let client: MessagingClient;
const closers: (() => Promise<void>)[] = [];
const ids = ['tor1', 'wan1', 'tgw1'] as const;

beforeAll(async () => {
  [fleet, t] = await Promise.all([testFleet({ devices: 3 }), testRedis()]);
  const mgmt = (i: number) => {
    const port = fleet.ports[i]!;
    return { host: fleet.host, port, username: fleet.username, password: fleet.password, hostKey: fleet.hostKey(port), hostKeyCheck: 'pinned' };
  };
  inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply({
    tenants: [
      { cid: 'acme', name: 'Acme', subnet: '192.0.2.0/25', gateway: '192.0.2.1' },
      { cid: 'globex', name: 'Globex', subnet: '198.51.100.0/24', gateway: '198.51.100.1' },
    ],
    devices: [
      { id: 'tor1', role: 'tor', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(0), vtep: '203.0.113.11' },
      { id: 'wan1', role: 'wan-gw', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(1), vtep: '203.0.113.1', vlanRanges: ['100-1999'] },
      { id: 'tgw1', role: 'tor-gw', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(2), vtep: '203.0.113.2', vlanRanges: ['1000-2999'] },
    ],
    pods: [{ id: 'pod1', tors: ['tor1'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'gateway' }],
    vnis: [
      { cid: 'acme', vni: 5001, vrf: { name: 'acme', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] } },
      { cid: 'globex', vni: 5002, vrf: { name: 'globex', rd: '65000:2', importTargets: ['65000:2'], exportTargets: ['65000:2'] } },
    ],
  });
  await new NveStore(t.redis, t.k, inventory).put({ id: 'h1', pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan'], secret: SECRET });
  pipeline = new Pipeline({
    redis: t.redis,
    k: t.k,
    drivers: new DriverRegistry().register('netconf', netconfDriver({ confirmTimeoutS: 120 })),
    lookup: (id) => inventory.get('device', id),
    log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 },
  }).start();
  closers.push(() => pipeline.close());
  const np = new NetworkProxy({ id: 'np1', secret: 'np1-shared-secret', redis: t.redis, k: t.k, inventory, sync: pipeline.port, syncDeadlineMs: 60_000 });
  const npPort = await np.listening();
  closers.push(() => np.close());
  const tp = await startTenantProxy(t, inventory, [{ id: 'np1', url: `ws://127.0.0.1:${npPort}`, secret: 'np1-shared-secret', pods: ['*'] }], { branchTimeoutMs: 90_000 });
  closers.push(() => tp.close());
  const url = tp.url;
  client = await MessagingClient.connect({ url, nve: 'h1', secret: SECRET, proxy: 'tp1', timeoutMs: 120_000 });
  closers.push(() => client.close());
  expect((await client.register(3600)).status).toBe(200);
});

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await fleet?.stop();
  await t?.cleanup();
});

async function running(id: string) {
  return (await getRunning((await inventory.get('device', id)) as Device)).config;
}

describe('a refused commit in the pipeline', () => {
  it('fails the INVITE with the device words and rolls the session back on every device', async () => {
    const first = await client.invite({ mac: '02:00:00:00:01:01' }, 'acme');
    expect(first.status).toBe(200);
    const before = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await running(id)] as const)));
    expect(before.wan1!.vnis.map((v) => v.vni)).toEqual([5001]);

    // The WAN gateway refuses every commit from now on, with a commit-check failure (a permanent error: no retry).
    fleet.inject(fleet.ports[1]!, { kind: 'refuse-commit', count: 100, error: { type: 'application', tag: 'operation-failed', message: 'commit check failed: TCAM full on wan1' } });
    const refused = await client.invite({ mac: '02:00:00:00:02:01' }, 'globex');
    expect(refused.status).toBe(500);
    expect(refused.reason).toContain('TCAM full on wan1');

    // Rolled back everywhere: the devices that took their part of the session gave it back.
    for (const id of ids) {
      for (let i = 0; i < 100; i++) {
        const st = await pipeline.store.status(id);
        if (st.appliedRevision >= st.desiredRevision) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await running(id)).toEqual(before[id]);
      expect(normalizeConfig((await pipeline.store.desired(id)).config)).toEqual(before[id]);
    }
    expect(await new Allocator(t.redis, t.k).vlanOf('globex', 'pod1')).toBeNull();

    // The device recovers: the same tenant's VM goes through.
    fleet.inject(fleet.ports[1]!, { kind: 'clear' });
    const again = await client.invite({ mac: '02:00:00:00:02:01' }, 'globex');
    expect(again.status).toBe(200);
    expect((await running('wan1')).vnis.map((v) => v.vni)).toEqual([5001, 5002]);
  }, 120_000);
});
