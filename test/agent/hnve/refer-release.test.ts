// The old hNVE of a move lets its sessions go (refer-done naming it as `from`) while the host takes the
// moved VMs' ports away: the proxy says REFER 200 before the old hNVE has handled its refer-done (a
// push is not waited for), and whoever migrated the VMs deletes their veths on the old host then.
// Seen in the lab demo: `ip link set dev vm-vm2 nomaster` found no vm-vm2 (deleted between the data
// plane reading the kernel and the command), the agent stopped programming there, and both VNIs stayed
// in the kernel of an hNVE with no session. The messages are replayed here in the order the lab's
// agent log showed, on one agent with a recorder data plane whose "host" deletes a port at the racy
// moment. No proxy: the pushes go straight to the agent's NOTIFY handler, so the order is exact.
import { describe, expect, it } from 'vitest';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import type { HnveDataPlane, PortEntry } from '../../../src/dataplane/hnve.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import type { DeviceChange } from '../../../src/model/device-config.ts';
import type { FinalAnswer, Request } from '../../../src/proxy/protocol/messages.ts';

const HERE = '203.0.113.21';
const THERE = '203.0.113.22';
const VM1 = { mac: '02:00:00:00:01:01', port: 'vm-vm1', cid: 'acme', vni: 5001, vlan: 1001 };
const VM2 = { mac: '02:00:00:00:02:01', port: 'vm-vm2', cid: 'globex', vni: 5002, vlan: 1002 };

/** A host's data plane: a recorder with the VMs' veths, which the host can delete (the kernel then
 *  takes them out of their bridges). `vanishOnDetach`: the veth is deleted between the data plane's
 *  read and its `nomaster` command, which then fails as ip does. */
class Host implements HnveDataPlane {
  readonly plane = new RecorderDataPlane(undefined, { references: true });
  vanishOnDetach: string | null = null;

  constructor(ports: string[]) {
    this.plane.knownPorts = new Set(ports);
  }

  async deleteVeth(port: string): Promise<void> {
    this.plane.knownPorts!.delete(port);
    await this.plane.detachPort(port);
  }

  apply(change: DeviceChange) {
    return this.plane.apply(change);
  }
  read() {
    return this.plane.read();
  }
  reconcile(config: Parameters<RecorderDataPlane['reconcile']>[0]) {
    return this.plane.reconcile(config);
  }
  attachPort(entry: PortEntry) {
    return this.plane.attachPort(entry);
  }
  readPorts() {
    return this.plane.readPorts();
  }
  async detachPort(port: string): Promise<void> {
    if (port !== this.vanishOnDetach) return this.plane.detachPort(port);
    this.vanishOnDetach = null;
    await this.deleteVeth(port);
    throw new Error(`ip link set dev ${port} nomaster (netns nvo-hv1): Cannot find device "${port}"`);
  }
}

let tid = 0;
/** A NOTIFY from the tenant proxy, handed to the agent as its connection would. */
function push(agent: HnveAgent, body: Record<string, unknown>): Promise<FinalAnswer> {
  const req: Request = { method: 'NOTIFY', tid: `t${++tid}`, cseq: tid, callId: `c${tid}`, from: 'tp1', to: 'hv1', body };
  return (agent as unknown as { onPushed(r: Request): Promise<FinalAnswer> }).onPushed(req);
}

const session = (vm: typeof VM1, callId: string) => ({ callId, cid: vm.cid, mac: vm.mac, macs: [], answer: { vni: vm.vni, vlan: vm.vlan, encapsulation: 'vxlan', vtep: HERE } });
const fullTable = (vm: typeof VM1, revision: number) => ({ cid: vm.cid, vni: vm.vni, mode: 'full', revision, table: [{ mac: vm.mac, vtep: HERE }], floods: [HERE, THERE] });

describe('the old hNVE of a move lets its sessions go while the host deletes their ports', () => {
  it('ends with no session, no table and nothing in the data plane, and says 200', async () => {
    const host = new Host([VM1.port, VM2.port]);
    const agent = new HnveAgent({ nve: 'hv1', secret: 'unused-no-proxy-here', urls: ['ws://127.0.0.1:9'], dataPlane: host, ports: new Map([[VM1.mac, VM1.port], [VM2.mac, VM2.port]]) });
    agent.vtep = HERE;
    const callIds = ['call-vm1', 'call-vm2'];

    // The VMs came here by an earlier move (the only way to give an agent sessions without a proxy).
    const inbound = 'a1b2c3d4-0000-4000-8000-000000000001';
    expect((await push(agent, { event: 'refer-prepare', referId: inbound, from: 'hv2', sessions: [session(VM1, callIds[0]!), session(VM2, callIds[1]!)], vnis: [fullTable(VM1, 10), fullTable(VM2, 20)] })).status).toBe(200);
    expect((await push(agent, { event: 'refer-done', referId: inbound, from: 'hv2', to: 'hv1', callIds })).status).toBe(200);
    expect((await host.read()).vnis.map((v) => v.vni)).toEqual([VM1.vni, VM2.vni]);
    expect(await host.readPorts()).toEqual([{ port: VM1.port, vni: VM1.vni }, { port: VM2.port, vni: VM2.vni }]);

    // Now they move away again. REFER 200 reached the admin first; vm1's veth is deleted before the
    // break's MAC-table NOTIFY is handled (its attach fails, as in the lab log: 500, port not found)...
    const outbound = 'a1b2c3d4-0000-4000-8000-000000000002';
    await host.deleteVeth(VM1.port);
    const fan = await push(agent, { event: 'mac-table', cid: VM1.cid, vni: VM1.vni, base: 10, revision: 11, entries: [{ revision: 11, added: [{ mac: VM1.mac, vtep: THERE }], removed: [], floodsAdded: [], floodsRemoved: [HERE] }] });
    expect(fan.status).toBe(500);
    // ...and vm2's while the agent takes it out of its segment for the refer-done.
    host.vanishOnDetach = VM2.port;
    const done = await push(agent, { event: 'refer-done', referId: outbound, from: 'hv1', to: 'hv2', callIds });

    expect(done.status, done.reason).toBe(200);
    expect(host.vanishOnDetach, 'the race was replayed').toBeNull();
    expect(agent.sessions.size).toBe(0);
    expect(agent.tables.size).toBe(0);
    expect(await host.read()).toEqual({ vlans: [], vrfs: [], vnis: [], floods: [], macs: [], irbs: [] });
    expect(await host.readPorts()).toEqual([]);
  });

  it('a port that will not leave its segment is still reported, after the VNIs no session uses are gone', async () => {
    const host = new Host([VM1.port]);
    const agent = new HnveAgent({ nve: 'hv1', secret: 'unused-no-proxy-here', urls: ['ws://127.0.0.1:9'], dataPlane: host, ports: new Map([[VM1.mac, VM1.port]]) });
    agent.vtep = HERE;
    const referId = 'a1b2c3d4-0000-4000-8000-000000000003';
    await push(agent, { event: 'refer-prepare', referId, from: 'hv2', sessions: [session(VM1, 'call-vm1')], vnis: [fullTable(VM1, 10)] });
    await push(agent, { event: 'refer-done', referId, from: 'hv2', to: 'hv1', callIds: ['call-vm1'] });
    // The port is still there, yet detaching it fails: a real fault, which the proxy hears of.
    host.plane.failNext = 'device busy (the test says so)';
    const done = await push(agent, { event: 'refer-done', referId: 'a1b2c3d4-0000-4000-8000-000000000004', from: 'hv1', to: 'hv2', callIds: ['call-vm1'] });
    expect(done.status).toBe(500);
    expect(done.reason).toContain('device busy');
    expect((await host.read()).vnis).toEqual([]);
  });
});
