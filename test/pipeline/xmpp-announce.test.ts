// A gateway agent that (re)starts while no sync job is pending is still brought up to date: the
// worker process logs in to XMPP at start, hears the agent's revision announcement and resyncs it.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayAgent } from '../../src/agent/gateway/gateway-agent.ts';
import { RecorderDataPlane } from '../../src/dataplane/recorder.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { startPipeline } from '../../src/pipeline/start.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';
import { cfg, waitFor, xmppLab, type XmppLab } from '../drivers/xmpp/lab.ts';

let lab: XmppLab;
let t: TestRedis;
beforeAll(async () => {
  lab = await xmppLab(['controller', 'gw1']);
  t = await testRedis();
});
afterAll(async () => {
  await lab?.destroy();
  await t?.cleanup();
});

describe('XMPP controller login at worker start', () => {
  it('resyncs an agent that announces itself while no job is pending', async () => {
    const inventory = new InventoryStore(t.redis, t.prefix);
    await inventory.create('device', { id: 'tor2', role: 'tor', driver: 'xmpp', jid: lab.jid('gw1'), vtep: '192.0.2.12' });
    const want = cfg({ vlans: [{ id: 100, name: 'acme' }], vnis: [{ vni: 5001, vlan: 100, encapsulation: 'vxlan' }] });
    // Desired state written, but no sync requested: no job will ever push it.
    const { pipeline, close } = startPipeline({
      inventory,
      workers: 1,
      checkIntervalMs: 0,
      xmpp: { service: lab.prosody.service, jid: lab.jid('controller'), password: lab.passwords.controller! },
      log: pino({ level: 'silent' }),
    });
    const dataPlane = new RecorderDataPlane();
    const agent = new GatewayAgent({ service: lab.prosody.service, jid: lab.jid('gw1'), password: lab.passwords.gw1!, controller: lab.jid('controller'), dataPlane });
    try {
      const revision = await pipeline.store.setContribution('tor2', 'session:s1', want);
      await agent.start();
      await waitFor('the agent to be resynced', async () => agent.revision === revision, 30_000);
      expect(await dataPlane.read()).toEqual(want);
      // The driver records the revision once the agent's acknowledgement is back.
      await waitFor('the applied revision to be recorded', async () => (await pipeline.store.status('tor2')).appliedRevision === revision, 10_000);
    } finally {
      await agent.stop();
      await close();
    }
  }, 60_000);
});
