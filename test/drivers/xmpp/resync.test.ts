// Prosody (started by this file) is restarted in the middle of a stream of pushes to two agents.
// Every client reconnects by itself, the agents announce their revisions, the driver resyncs the ones
// that are behind, and the test counts through the recorders that every entry arrived exactly once,
// in revision order, and that each agent ends at the current revision.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedis, type TestRedis } from '../../support/redis.ts';
import { DeviceStateStore } from '../../../src/store/device-state.ts';
import type { XmppDriver, PushAck, XmppDevice } from '../../../src/drivers/xmpp/xmpp-driver.ts';
import { GatewayAgent } from '../../../src/agent/gateway/gateway-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { cfg, controllerDriver, syncWithRetry, waitFor, xmppLab, type XmppLab } from './lab.ts';

const IDS = ['gw1', 'gw2'];
const STREAM = 40; // MAC additions per device
const RESTART_AT = 15;

let lab: XmppLab;
let t: TestRedis;
let store: DeviceStateStore;
let driver: XmppDriver;
const devices: Record<string, XmppDevice> = {};
const planes: Record<string, RecorderDataPlane> = {};
const agents: GatewayAgent[] = [];

beforeAll(async () => {
  lab = await xmppLab(['nvo', ...IDS]);
  t = await testRedis();
  store = new DeviceStateStore(t.redis, t.k);
  for (const id of IDS) devices[id] = { id, jid: lab.jid(id) };
  driver = await controllerDriver(lab, store, devices, 5_000);
  for (const id of IDS) {
    planes[id] = new RecorderDataPlane();
    const agent = new GatewayAgent({ service: lab.prosody.service, jid: lab.jid(id), password: lab.passwords[id]!, controller: lab.jid('nvo'), dataPlane: planes[id]! });
    const announced = once(agent, 'announced');
    await agent.start();
    await announced;
    agents.push(agent);
  }
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await driver?.stop();
  await t?.cleanup();
  await lab?.destroy();
});

const mac = (dev: number, i: number) => `02:00:00:00:${dev.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;

describe('Prosody restart in the middle of a stream of pushes', () => {
  it('reconnects, resyncs to the current revision, loses nothing and applies nothing twice', async () => {
    const pidBefore = lab.prosody.pid;
    const announcementsAfter: Array<{ device: string; revision: number }> = [];
    const resyncs: PushAck[] = [];
    let restarted: Promise<void> | null = null;
    driver.on('resynced', (a: PushAck) => resyncs.push(a));

    const stream = async (id: string, n: number) => {
      let transient = 0;
      const modes: string[] = [];
      for (let i = 1; i <= STREAM; i++) {
        await store.setContribution(id, `vm-${i}`, cfg({ vlans: [{ id: 100, name: 'acme' }], macs: [{ vni: 5000, mac: mac(n, i), vtep: '192.0.2.10' }] }));
        if (i === RESTART_AT && n === 1) {
          driver.on('announce', (a: { device: string; revision: number }) => announcementsAfter.push(a));
          restarted = lab.prosody.restart();
        }
        const r = await syncWithRetry(store, driver, devices[id]!, 60_000);
        transient += r.transientFailures;
        if (r.ack) modes.push(r.ack.mode);
      }
      return { transient, modes };
    };
    const results = await Promise.all(IDS.map((id, n) => stream(id, n + 1)));
    await restarted;

    expect(lab.prosody.pid).not.toBe(pidBefore);
    // Pushes really met the outage and were retried by the "pipeline", not queued in the driver.
    expect(results.reduce((s, r) => s + r.transient, 0)).toBeGreaterThan(0);
    // Both agents came back and told the controller their revision.
    await waitFor('both agents to announce after the restart', () => IDS.every((id) => announcementsAfter.some((a) => a.device === id)));

    for (const [n, id] of IDS.entries()) {
      const plane = planes[id]!;
      const desired = await store.desired(id);
      expect(desired.revision).toBe(STREAM);
      await waitFor(`${id} to be in sync`, async () => (await store.status(id)).syncState === 'in-sync');
      expect(await plane.read()).toEqual(desired.config);
      expect(agents[n]!.revision).toBe(STREAM);
      expect(await driver.state(devices[id]!)).toEqual({ revision: STREAM, config: desired.config });

      // Count: every operation that changed the data plane carries a newer revision than the one
      // before (in order, none twice), and each MAC was added exactly once, never removed.
      const revs = plane.history.map((h) => h.revision!);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
      expect(new Set(revs).size).toBe(revs.length);
      expect(revs.at(-1)).toBe(STREAM);
      const effective = plane.effective();
      expect(effective).toHaveLength(plane.history.length);
      const added = new Map<string, number>();
      for (const h of effective) {
        for (const m of h.change.merge.macs) added.set(m.mac, (added.get(m.mac) ?? 0) + 1);
        expect(h.change.remove.macs).toEqual([]);
      }
      expect([...added.keys()].sort()).toEqual(Array.from({ length: STREAM }, (_, i) => mac(n + 1, i + 1)).sort());
      expect([...added.values()].every((c) => c === 1)).toBe(true);
      expect(effective.filter((h) => h.change.merge.vlans.length > 0)).toHaveLength(1);
    }
    // Resyncs, if any, only ever moved an agent forward.
    for (const r of resyncs) expect(r.revision).toBeLessThanOrEqual(STREAM);
  });
});
