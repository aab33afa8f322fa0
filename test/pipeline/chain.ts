// The whole chain for the INVITE-level failure tests: hNVE client → tenant proxy → network proxy →
// BullMQ pipeline → NETCONF driver → three NETCONF devices (tor1, wan1, tgw1 of pod1) — netsim devices
// (startNetsimChain, for its failure injection) or real netconfd (startChain with their management).
import { pino } from 'pino';
import { expect } from 'vitest';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { getRunning } from '../../src/drivers/netconf/device-ops.ts';
import type { Device } from '../../src/model/device.ts';
import type { DeviceConfig } from '../../src/model/device-config.ts';
import type { Fleet } from '../../src/netsim/fleet.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { netconfDriver } from '../../src/pipeline/netconf-adapter.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import type { RetryPolicy } from '../../src/pipeline/sync-queue.ts';
import { NetworkProxy } from '../../src/proxy/network/network-proxy.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { testFleet } from '../netsim/support.ts';
import { startTenantProxy } from '../proxy/harness.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

export const CHAIN_DEVICES = ['tor1', 'wan1', 'tgw1'] as const;
const SECRET = 'secret-of-h1-0123456789';

type Management = { host: string; port: number; username: string; password: string; hostKey: string; hostKeyCheck: 'pinned' };

export interface ChainOptions {
  /** How to reach tor1, wan1 and tgw1, in that order. */
  management: [Management, Management, Management];
  syncDeadlineMs: number;
  retry: RetryPolicy;
  /** The VNIs of the tenants acme and globex (default 5001, 5002). */
  vnis?: [number, number];
}

export interface Chain {
  t: TestRedis;
  inventory: InventoryStore;
  pipeline: Pipeline;
  client: MessagingClient;
  /** What the device has now (get-config of running). */
  running(id: string): Promise<DeviceConfig>;
  /** Waits until the device has applied its desired revision. */
  settled(id: string): Promise<void>;
  close(): Promise<void>;
}

/** The chain on a netsim fleet of three, whose failure injection the tests drive. */
export async function startNetsimChain(o: Omit<ChainOptions, 'management'>): Promise<Chain & { fleet: Fleet }> {
  const fleet = await testFleet({ devices: 3 });
  const mgmt = (i: number): Management => {
    const port = fleet.ports[i]!;
    return { host: fleet.host, port, username: fleet.username, password: fleet.password, hostKey: fleet.hostKey(port), hostKeyCheck: 'pinned' };
  };
  try {
    const chain = await startChain({ ...o, management: [mgmt(0), mgmt(1), mgmt(2)] });
    return {
      ...chain,
      fleet,
      async close() {
        await chain.close();
        await fleet.stop();
      },
    };
  } catch (err) {
    await fleet.stop();
    throw err;
  }
}

export async function startChain(o: ChainOptions): Promise<Chain> {
  const t = await testRedis();
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await t.cleanup();
  };
  try {
    const mgmt = (i: number) => o.management[i]!;
    const [acmeVni, globexVni] = o.vnis ?? [5001, 5002];
    const inventory = new InventoryStore(t.redis, t.prefix);
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
        { cid: 'acme', vni: acmeVni, vrf: { name: 'acme', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] } },
        { cid: 'globex', vni: globexVni, vrf: { name: 'globex', rd: '65000:2', importTargets: ['65000:2'], exportTargets: ['65000:2'] } },
      ],
    });
    await new NveStore(t.redis, t.k, inventory).put({ id: 'h1', pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan'], secret: SECRET });
    const pipeline = new Pipeline({
      redis: t.redis,
      k: t.k,
      drivers: new DriverRegistry().register('netconf', netconfDriver({ confirmTimeoutS: 120 })),
      lookup: (id) => inventory.get('device', id),
      log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
      retry: o.retry,
    }).start();
    closers.push(() => pipeline.close());
    const np = new NetworkProxy({ id: 'np1', secret: 'np1-shared-secret', redis: t.redis, k: t.k, inventory, sync: pipeline.port, syncDeadlineMs: o.syncDeadlineMs });
    const npPort = await np.listening();
    closers.push(() => np.close());
    const tp = await startTenantProxy(t, inventory, [{ id: 'np1', url: `ws://127.0.0.1:${npPort}`, secret: 'np1-shared-secret', pods: ['*'] }], { branchTimeoutMs: 90_000 });
    closers.push(() => tp.close());
    const client = await MessagingClient.connect({ url: tp.url, nve: 'h1', secret: SECRET, proxy: 'tp1', timeoutMs: 120_000 });
    closers.push(() => client.close());
    expect((await client.register(3600)).status).toBe(200);
    return {
      t,
      inventory,
      pipeline,
      client,
      running: async (id) => (await getRunning((await inventory.get('device', id)) as Device)).config,
      async settled(id) {
        for (let i = 0; i < 300; i++) {
          const st = await pipeline.store.status(id);
          if (st.appliedRevision >= st.desiredRevision) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`${id} did not apply its desired revision within 30 s`);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
