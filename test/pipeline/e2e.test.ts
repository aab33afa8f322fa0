// The whole chain with every real part: hNVE messaging clients → tenant proxy → network proxy →
// desired state → BullMQ pipeline → NETCONF driver → three netconfd devices (lab/netconf-server.ts)
// and XMPP driver → Prosody (lab/prosody-server.ts) → a gateway agent. 500 VM INVITEs for 5 CIDs;
// afterwards every device holds exactly its desired configuration (get-config; the agent's own
// state), with far fewer commits than changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { pino } from 'pino';
import { managementOf, startNetconfServers, type NetconfServers } from '../../lab/netconf-server.ts';
import { GatewayAgent } from '../../src/agent/gateway/gateway-agent.ts';
import { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { RecorderDataPlane } from '../../src/dataplane/recorder.ts';
import { getRunning } from '../../src/drivers/netconf/device-ops.ts';
import { XmppDriver } from '../../src/drivers/xmpp/xmpp-driver.ts';
import type { Device } from '../../src/model/device.ts';
import { normalizeConfig } from '../../src/model/device-config.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { netconfDriver } from '../../src/pipeline/netconf-adapter.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { xmppAdapter } from '../../src/pipeline/xmpp-adapter.ts';
import { NetworkProxy } from '../../src/proxy/network/network-proxy.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { NveStore } from '../../src/store/nve-store.ts';
import { startTenantProxy } from '../proxy/harness.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { xmppLab, type XmppLab } from '../drivers/xmpp/lab.ts';

const CIDS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
// 20 INVITEs in flight. Coalescing is timing-bound: a sync starts as soon as the previous one ends,
// with whatever is pending, so a fast device sees commits alternate between one change and the rest
// of the flight — 10 per commit on average at worst with 20 in flight (measured 10-20). The bound
// below, 5 per commit, keeps twice that margin; with 10 in flight the worst case (1 and 9) sat
// exactly on it. The exact coalescing rules are pinned by test/pipeline/sync.test.ts.
const CLIENTS = 20;
const SECRETS = { h1: 'secret-of-h1-0123456789', h2: 'secret-of-h2-0123456789' } as const;

let servers: NetconfServers;
let lab: XmppLab;
let t: TestRedis;
let xmpp: XmppDriver;
let agent: GatewayAgent;
const plane = new RecorderDataPlane();
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [servers, lab, t] = await Promise.all([startNetconfServers({ count: 3 }), xmppLab(['nvo', 'tgw1']), testRedis()]);
  const [n1, n2, n3] = servers.instances;
  const mgmt = (n: typeof n1) => managementOf(n!);
  const inventory = new InventoryStore(t.redis, t.prefix);
  await inventory.apply({
    settings: { vniPool: ['10000-19999'] },
    tenants: CIDS.map((cid, i) => ({ cid, name: cid, subnet: `198.51.100.${i * 32}/27`, gateway: `198.51.100.${i * 32 + 1}`, multicast: i % 2 === 0, encapsulations: ['vxlan'] })),
    devices: [
      { id: 'tor1', role: 'tor', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(n1), vtep: '203.0.113.11' },
      { id: 'tor2', role: 'tor', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(n2), vtep: '203.0.113.12' },
      { id: 'wan1', role: 'wan-gw', driver: 'netconf', dialect: 'nvo3-lab', management: mgmt(n3), vtep: '203.0.113.1', ngMvpn: true, mcastGroups: ['232.1.1.0/24'], vlanRanges: ['100-1999'] },
      { id: 'tgw1', role: 'tor-gw', driver: 'xmpp', jid: lab.jid('tgw1'), vtep: '203.0.113.2', vlanRanges: ['1000-2999'] },
    ],
    pods: [{ id: 'pod1', vlanRanges: ['1-4000'], tors: ['tor1', 'tor2'], wanGateway: 'wan1', torGateway: 'tgw1', routing: 'tor' }],
    vnis: CIDS.map((cid, i) => ({ cid, vrf: { name: cid, rd: `65000:${i + 1}`, importTargets: [`65000:${i + 1}`], exportTargets: [`65000:${i + 1}`] } })),
  });
  const nves = new NveStore(t.redis, t.k, inventory);
  await nves.put({ id: 'h1', pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan'], secret: SECRETS.h1 });
  await nves.put({ id: 'h2', pod: 'pod1', vtep: '192.0.2.202', encapsulations: ['vxlan'], secret: SECRETS.h2 });

  const store = new DeviceStateStore(t.redis, t.k);
  xmpp = new XmppDriver({ service: lab.prosody.service, jid: lab.jid('nvo'), password: lab.passwords.nvo!, store, deviceByJid: async (bare) => (bare === lab.jid('tgw1') ? { id: 'tgw1', jid: bare } : undefined), timeoutMs: 15_000 });
  await xmpp.start();
  closers.push(() => xmpp.stop());
  agent = new GatewayAgent({ service: lab.prosody.service, jid: lab.jid('tgw1'), password: lab.passwords.tgw1!, controller: lab.jid('nvo'), dataPlane: plane });
  const announced = once(agent, 'announced');
  await agent.start();
  await announced;
  closers.push(() => agent.stop());
});

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await t?.cleanup();
  await lab?.destroy();
  await servers?.stop();
});

describe('500 INVITEs through the proxies onto 3 netconfd devices and 1 XMPP gateway agent', () => {
  it('every device ends with exactly its desired configuration, in far fewer commits than changes', async () => {
    const inventory = new InventoryStore(t.redis, t.prefix);
    const pipeline = new Pipeline({
      redis: t.redis,
      k: t.k,
      drivers: new DriverRegistry().register('netconf', netconfDriver({ confirmTimeoutS: 120 })).register('xmpp', xmppAdapter(xmpp)),
      lookup: (id) => inventory.get('device', id),
      log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
      concurrency: 8,
    }).start();
    closers.push(() => pipeline.close());
    const np = new NetworkProxy({ id: 'np1', secret: 'np1-shared-secret', redis: t.redis, k: t.k, inventory, sync: pipeline.port, syncDeadlineMs: 120_000 });
    const npPort = await np.listening();
    closers.push(() => np.close());
    const tp = await startTenantProxy(t, inventory, [{ id: 'np1', url: `ws://127.0.0.1:${npPort}`, secret: 'np1-shared-secret', pods: ['*'] }], { branchTimeoutMs: 150_000, graceMs: 600_000, reapIntervalMs: 1000 });
    closers.push(() => tp.close());
    const url = tp.url;
    const clients: MessagingClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const nve = i % 2 ? 'h2' : 'h1';
      const c = await MessagingClient.connect({ url, nve, secret: SECRETS[nve], proxy: 'tp1', timeoutMs: 180_000 });
      clients.push(c);
      closers.push(() => c.close());
    }
    await clients[0]!.register(3600);
    await clients[1]!.register(3600);

    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        while (next < 500) {
          const i = next++;
          const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
          const r = await c.invite({ mac }, CIDS[i % CIDS.length]!);
          statuses.push(r.status);
          if (r.status !== 200) console.log(`INVITE ${i}: ${r.status} ${r.reason}`);
        }
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(500);

    const store = pipeline.store;
    const report: string[] = [];
    for (const id of ['tor1', 'tor2', 'wan1']) {
      const device = (await inventory.get('device', id)) as Device;
      const desired = await store.desired(id);
      const running = (await getRunning(device)).config;
      expect(running).toEqual(normalizeConfig(desired.config));
      // One VLAN, VNI and VRF per CID at least: the sessions really reached the device.
      expect(running.vnis.length).toBeGreaterThanOrEqual(CIDS.length);
      const st = await store.status(id);
      expect(st).toMatchObject({ appliedRevision: desired.revision, syncState: 'in-sync' });
      report.push(`${id}: ${desired.revision} changes, ${st.commits} commits, ${Object.entries(running).map(([k, v]) => `${v.length} ${k}`).join(' ')}`);
      expect(st.commits).toBeLessThan(desired.revision / 5);
    }
    const desired = await store.desired('tgw1');
    expect(normalizeConfig(await plane.read())).toEqual(normalizeConfig(desired.config));
    expect((await xmpp.state({ id: 'tgw1', jid: lab.jid('tgw1') })).config).toEqual(normalizeConfig(desired.config));
    const st = await store.status('tgw1');
    report.push(`tgw1 (xmpp): ${desired.revision} changes, ${st.commits} commits, ${Object.entries(desired.config).map(([k, v]) => `${v.length} ${k}`).join(' ')}`);
    expect(desired.config.vnis.length).toBeGreaterThanOrEqual(CIDS.length);
    expect(st.commits).toBeLessThan(desired.revision / 5);
    console.log(`500 INVITEs: ${report.join('; ')}`);
  }, 600_000);
});
