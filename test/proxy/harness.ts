// A whole messaging stack on real Redis and real WebSockets for the proxy tests: the lab's
// inventory (lab/inventory.yaml's shape, trimmed to what the proxies read), three provisioned hNVEs,
// one or two network proxies with the in-memory device sync, and a tenant proxy.
import { connectRedis } from '../../src/store/redis.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { MemoryDeviceSync } from '../../src/proxy/network/memory-device-sync.ts';
import { NetworkProxy } from '../../src/proxy/network/network-proxy.ts';
import { TenantProxy, type TenantProxyOptions } from '../../src/proxy/tenant/tenant-proxy.ts';
import type { NetworkProxyConfig } from '../../src/proxy/tenant/fork.ts';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import type { ProxyLog } from '../../src/proxy/log.ts';

export const SECRETS = { h1: 'secret-of-h1-0123456789', h2: 'secret-of-h2-0123456789', h3: 'secret-of-h3-0123456789' } as const;

export const INVENTORY = {
  settings: { vniPool: ['10000-19999'] },
  tenants: [
    { cid: 'acme', name: 'Acme', subnet: '192.0.2.0/25', gateway: '192.0.2.1', multicast: true, encapsulations: ['vxlan', 'geneve'] },
    { cid: 'globex', name: 'Globex', subnet: '198.51.100.0/24', gateway: '198.51.100.1', multicast: false, encapsulations: ['nvgre', 'vxlan'] },
  ],
  devices: [
    { id: 'tor1', role: 'tor', driver: 'xmpp', jid: 'tor1@nvo3.test', vtep: '203.0.113.11', encapsulations: ['vxlan', 'geneve', 'nvgre'] },
    { id: 'tor2', role: 'tor', driver: 'xmpp', jid: 'tor2@nvo3.test', vtep: '203.0.113.12', encapsulations: ['vxlan', 'geneve', 'nvgre'] },
    { id: 'tor3', role: 'tor', driver: 'xmpp', jid: 'tor3@nvo3.test', vtep: '203.0.113.13', encapsulations: ['vxlan', 'nvgre'] },
    { id: 'wan1', role: 'wan-gw', driver: 'xmpp', jid: 'wan1@nvo3.test', vtep: '203.0.113.1', ngMvpn: true, mcastGroups: ['232.1.1.0/24'], encapsulations: ['vxlan', 'geneve', 'nvgre', 'mpls-over-gre'], vlanRanges: ['100-1999'] },
    { id: 'tgw1', role: 'tor-gw', driver: 'xmpp', jid: 'tgw1@nvo3.test', vtep: '203.0.113.2', encapsulations: ['vxlan', 'nvgre'], vlanRanges: ['1000-2999'] },
  ],
  pods: [
    { id: 'pod1', vlanRanges: ['1-4000'], tors: ['tor1', 'tor2'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'tor' },
    { id: 'pod2', vlanRanges: ['1-4000'], tors: ['tor3'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'gateway' },
  ],
  vnis: [
    { cid: 'acme', vni: 5001, vrf: { name: 'acme', rd: '65000:5001', importTargets: ['65000:5001'], exportTargets: ['65000:5001'] } },
    { cid: 'globex', vrf: { name: 'globex', rd: '203.0.113.1:2', importTargets: ['65000:2'], exportTargets: ['65000:2'] } },
  ],
};

export const HNVES = [
  { id: 'h1', pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan', 'nvgre'], secret: SECRETS.h1 },
  { id: 'h2', pod: 'pod1', vtep: '192.0.2.202', encapsulations: ['vxlan', 'nvgre'], secret: SECRETS.h2 },
  { id: 'h3', pod: 'pod2', vtep: '198.51.100.203', encapsulations: ['vxlan', 'nvgre'], secret: SECRETS.h3 },
];

export interface Stack {
  t: TestRedis;
  inventory: InventoryStore;
  state: DeviceStateStore;
  syncs: MemoryDeviceSync[];
  networks: NetworkProxy[];
  tenant: TenantProxy;
  url: string;
  agent(nve: keyof typeof SECRETS): Promise<MessagingClient>;
  /** The store's snapshot without the messaging layer's transient msg: keys (nonces, transactions,
   *  CSeqs; all carry a TTL): what "a refusal changed nothing" compares. */
  durableSnapshot(): Promise<string>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Network proxies: devices each configures (null = all). Default: one for everything. */
  networks?: (string[] | null)[];
  branchTimeoutMs?: number;
  graceMs?: number;
  expires?: { min: number; max: number; default: number };
  /** The tenant proxy's logger (default: silent under vitest). */
  log?: ProxyLog;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const t = await testRedis();
  const inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply(INVENTORY);
  const nves = new NveStore(t.redis, t.k, inventory);
  for (const h of HNVES) await nves.put(h);
  const state = new DeviceStateStore(t.redis, t.k);
  const syncs: MemoryDeviceSync[] = [];
  const networks: NetworkProxy[] = [];
  const configs: NetworkProxyConfig[] = [];
  for (const [i, devices] of (o.networks ?? [null]).entries()) {
    const sync = new MemoryDeviceSync(state);
    const np = new NetworkProxy({ id: `np${i + 1}`, secret: `np${i + 1}-shared-secret`, redis: t.redis, k: t.k, inventory, sync, devices: devices ?? undefined, syncDeadlineMs: 2000 });
    const port = await np.listening();
    syncs.push(sync);
    networks.push(np);
    configs.push({ id: `np${i + 1}`, url: `ws://127.0.0.1:${port}`, secret: `np${i + 1}-shared-secret`, pods: ['*'] });
  }
  const { tenant, url, close: closeTenant } = await startTenantProxy(t, inventory, configs, {
    branchTimeoutMs: o.branchTimeoutMs ?? 10_000,
    graceMs: o.graceMs ?? 60_000,
    reapIntervalMs: 100,
    expires: o.expires,
    ...(o.log ? { log: o.log } : {}),
  });
  const agents: MessagingClient[] = [];
  return {
    t,
    inventory,
    state,
    syncs,
    networks,
    tenant,
    url,
    async agent(nve) {
      const a = await MessagingClient.connect({ url, nve, secret: SECRETS[nve], proxy: 'tp1' });
      agents.push(a);
      return a;
    },
    async durableSnapshot() {
      return (await t.snapshot())
        .split('\n')
        .filter((l) => !l.startsWith(`${t.prefix}msg:`))
        .join('\n');
    },
    async close() {
      for (const a of agents) await a.close();
      await closeTenant();
      for (const n of networks) await n.close();
      await t.cleanup();
    },
  };
}

/** A tenant proxy `tp1` on the test's Redis with its own subscriber connection; `close` ends both. */
export async function startTenantProxy(
  t: TestRedis,
  inventory: InventoryStore,
  networkProxies: NetworkProxyConfig[],
  o: Partial<Pick<TenantProxyOptions, 'branchTimeoutMs' | 'graceMs' | 'reapIntervalMs' | 'expires' | 'log'>> = {},
): Promise<{ tenant: TenantProxy; url: string; close(): Promise<void> }> {
  const subscriber = connectRedis(undefined, { name: 'nvo-test-sub' });
  // Ready before the tenant proxy SUBSCRIBEs on it (a SUBSCRIBE during ioredis's ready check is lost).
  await subscriber.ping();
  const tenant = new TenantProxy({ id: 'tp1', redis: t.redis, subscriber, k: t.k, inventory, networkProxies, ...o });
  const url = `ws://127.0.0.1:${await tenant.start()}`;
  return {
    tenant,
    url,
    async close() {
      await tenant.close();
      subscriber.disconnect();
    },
  };
}
