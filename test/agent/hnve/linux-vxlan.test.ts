// The hNVE agent on the Linux data plane, end to end: the real proxies on Redis, three hypervisor
// namespaces (h1, h2, h4: one pod) on an underlay bridge (192.0.2.0/24, the hNVEs' VTEPs), and two VM
// namespaces (192.0.2.10 and .11 in acme's 192.0.2.0/25, MTU 1450). After INVITE (and an INFO) from
// the agents VM1 pings VM2 through VXLAN; after BYE it stops; after a REFER of h2's sessions to h4
// (VM2's second veth leads there, and the VM "migrates" when h4 says it is ready) it works again, and
// the test prints how many pings a continuous ping lost during the move. Needs root for `ip netns`;
// skips with the reason otherwise. Every namespace is the test's own and goes in afterAll, with every
// device in it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { LinuxDataPlane } from '../../../src/dataplane/linux/linux-data-plane.ts';
import { NveStore } from '../../../src/store/nve-store.ts';
import { SECRETS, startStack, type Stack } from '../../proxy/harness.ts';
import { netnsSkipReason } from '../../support/netns.ts';

const why = netnsSkipReason({ ping: true });
if (why) console.log(`skipping the hNVE agent Linux VXLAN test: ${why}`);

const tag = `nva${process.pid}`;
const ns = { fab: `${tag}-fab`, h1: `${tag}-h1`, h2: `${tag}-h2`, h4: `${tag}-h4`, vm1: `${tag}-vm1`, vm2: `${tag}-vm2` };
const made: string[] = [];
const VTEP = { h1: '192.0.2.201', h2: '192.0.2.202', h4: '192.0.2.204' };
const MAC1 = '02:00:00:00:01:01';
const MAC2 = '02:00:00:00:02:01';
const H4 = { id: 'h4', pod: 'pod1', vtep: VTEP.h4, encapsulations: ['vxlan'], secret: 'secret-of-h4-0123456789' };

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ipn = (n: string, ...args: string[]) => sh(['ip', '-n', n, ...args]);
const fdb = (n: string) => sh(['ip', 'netns', 'exec', n, 'bridge', 'fdb', 'show', 'dev', 'nvox5001']);

function addNs(name: string): void {
  sh(['ip', 'netns', 'add', name]);
  made.push(name);
  ipn(name, 'link', 'set', 'lo', 'up');
}

function pings(from: string, to: string, tries = 4): boolean {
  for (let i = 0; i < tries; i++) if (spawnSync('ip', ['netns', 'exec', from, 'ping', '-c', '1', '-W', '1', to]).status === 0) return true;
  return false;
}

let s: Stack;
const agents: Record<string, HnveAgent> = {};

beforeAll(async () => {
  if (why) return;
  for (const n of Object.values(ns)) addNs(n);
  ipn(ns.fab, 'link', 'add', 'br0', 'type', 'bridge');
  ipn(ns.fab, 'link', 'set', 'br0', 'up');
  for (const h of ['h1', 'h2', 'h4'] as const) {
    ipn(ns[h], 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', `p-${h}`, 'netns', ns.fab);
    ipn(ns.fab, 'link', 'set', `p-${h}`, 'master', 'br0', 'up');
    ipn(ns[h], 'address', 'add', `${VTEP[h]}/24`, 'dev', 'ul0');
    ipn(ns[h], 'link', 'set', 'ul0', 'up');
  }
  // VM1 behind h1; VM2 behind h2 (eth0) and, for the move, a second veth to h4 (eth1, down, same MAC).
  ipn(ns.vm1, 'link', 'add', 'eth0', 'mtu', '1450', 'address', MAC1, 'type', 'veth', 'peer', 'name', 'vm1', 'mtu', '1450', 'netns', ns.h1);
  ipn(ns.vm1, 'address', 'add', '192.0.2.10/25', 'dev', 'eth0');
  ipn(ns.vm1, 'link', 'set', 'eth0', 'up');
  ipn(ns.vm2, 'link', 'add', 'eth0', 'mtu', '1450', 'address', MAC2, 'type', 'veth', 'peer', 'name', 'vm2', 'mtu', '1450', 'netns', ns.h2);
  ipn(ns.vm2, 'address', 'add', '192.0.2.11/25', 'dev', 'eth0');
  ipn(ns.vm2, 'link', 'set', 'eth0', 'up');
  ipn(ns.vm2, 'link', 'add', 'eth1', 'mtu', '1450', 'address', MAC2, 'type', 'veth', 'peer', 'name', 'vm2', 'mtu', '1450', 'netns', ns.h4);

  s = await startStack();
  await new NveStore(s.t.redis, s.t.k, s.inventory).put(H4);
  const secrets: Record<string, string> = { ...SECRETS, h4: H4.secret };
  const ports: Record<string, [string, string][]> = { h1: [[MAC1, 'vm1']], h2: [[MAC2, 'vm2']], h4: [[MAC2, 'vm2']] };
  for (const h of ['h1', 'h2', 'h4'] as const) {
    const dataPlane = new LinuxDataPlane({ netns: ns[h], localVtep: VTEP[h], underlayDev: 'ul0' });
    agents[h] = new HnveAgent({ nve: h, secret: secrets[h]!, urls: [s.url], proxy: 'tp1', dataPlane, ports: new Map(ports[h]), timeoutMs: 30_000 });
    await agents[h].start();
  }
}, 120_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.stop();
  await s?.close();
  for (const n of made.reverse()) spawnSync('ip', ['netns', 'del', n]);
  if (!why) {
    const left = sh(['ip', 'netns', 'list']);
    expect(left).not.toContain(tag);
  }
});

describe.skipIf(why !== null)('hNVE agents on the Linux VXLAN data plane', () => {
  let call2 = '';

  it('INVITE and INFO from the agents: VM1 pings VM2 through VXLAN', async () => {
    const r1 = await agents.h1!.invite({ mac: MAC1, cid: 'acme' });
    expect(r1.status, r1.reason).toBe(200);
    const r2 = await agents.h2!.invite({ mac: MAC2, cid: 'acme' });
    expect(r2.status, r2.reason).toBe(200);
    call2 = r2.callId;
    const info = await agents.h1!.info(r1.callId, { add: ['02:00:00:00:01:02'] });
    expect(info.status, info.reason).toBe(200);
    // The INFO reached h2's kernel: a static fdb entry for the new MAC towards h1's VTEP.
    await expect.poll(() => fdb(ns.h2), { timeout: 10_000 }).toMatch(/02:00:00:00:01:02 dst 192\.0\.2\.201/);
    expect(fdb(ns.h2)).toMatch(/00:00:00:00:00:00 dst 192\.0\.2\.201/);
    expect(pings(ns.vm1, '192.0.2.11')).toBe(true);
    expect(pings(ns.vm2, '192.0.2.10')).toBe(true);
  }, 60_000);

  it('a proxy pushing a bad MAC or an unknown VNI gets an error and the kernel stays exactly as it was', async () => {
    // The kernel's configuration (links and every fdb entry but the learned ones on VM ports).
    const kernel = () => JSON.stringify({
      links: (JSON.parse(ipn(ns.h1, '-d', '-j', 'link', 'show')) as Record<string, unknown>[]).map((l) => [l.ifname, l.ifalias, l.master, (l.linkinfo as { info_kind?: string } | undefined)?.info_kind]),
      fdb: (JSON.parse(sh(['bridge', '-n', ns.h1, '-j', 'fdb', 'show'])) as { state?: string; flags?: string[] }[]).filter((r) => r.state !== '' || r.flags?.includes('extern_learn')),
    });
    const before = kernel();
    const t = agents.h1!.tables.get('acme')!;
    const push = (body: Record<string, unknown>) =>
      s.tenant.server.connectionOf('h1')!.request({ method: 'NOTIFY', tid: randomUUID(), cseq: 1, callId: 'vni-acme', from: 'tp1', to: 'h1', body });
    const entry = (e: Record<string, unknown>) => ({ revision: t.revision + 1, added: [], removed: [], floodsAdded: [], floodsRemoved: [], ...e });
    const badMac = await push({ event: 'mac-table', cid: 'acme', vni: 5001, base: t.revision, revision: t.revision + 1, entries: [entry({ added: [{ mac: 'zz:00:00:00:00:01', vtep: '192.0.2.209' }] })] });
    expect([badMac.status, badMac.reason]).toEqual([400, expect.stringMatching(/is not a MAC/)]);
    const unknownVni = await push({ event: 'mac-table', cid: 'globex', vni: 10000, base: 0, revision: 1, entries: [entry({ revision: 1, added: [{ mac: '02:00:00:00:09:01', vtep: '192.0.2.209' }] })] });
    expect([unknownVni.status, unknownVni.reason]).toEqual([481, expect.stringMatching(/globex/)]);
    expect(kernel()).toBe(before);
    expect(pings(ns.vm1, '192.0.2.11')).toBe(true);
  }, 60_000);

  it('after BYE of VM2 the ping stops; a new INVITE brings it back', async () => {
    expect((await agents.h2!.bye(call2)).status).toBe(200);
    await expect.poll(() => fdb(ns.h1), { timeout: 10_000 }).not.toMatch(/02:00:00:00:02:01 dst/);
    expect(ipn(ns.h2, 'link', 'show')).not.toMatch(/nvox5001/);
    expect(pings(ns.vm1, '192.0.2.11', 2)).toBe(false);
    const again = await agents.h2!.invite({ mac: MAC2, cid: 'acme' });
    expect(again.status, again.reason).toBe(200);
    expect(pings(ns.vm1, '192.0.2.11')).toBe(true);
  }, 60_000);

  it('REFER moves h2\'s sessions to h4: ping works again, and the pings lost during the move are counted', async () => {
    const ping = spawn('ip', ['netns', 'exec', ns.vm1, 'ping', '-i', '0.05', '-W', '1', '192.0.2.11'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ping.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    // The VM migrates when its new host is ready: its link to h2 goes down, the one to h4 comes up.
    agents.h4!.once('refer-prepared', () => {
      ipn(ns.vm2, 'link', 'set', 'eth0', 'down');
      ipn(ns.vm2, 'address', 'flush', 'dev', 'eth0');
      ipn(ns.vm2, 'address', 'add', '192.0.2.11/25', 'dev', 'eth1');
      ipn(ns.vm2, 'link', 'set', 'eth1', 'up');
    });
    const progress: number[] = [];
    const final = new Promise<number>((resolve) =>
      agents.h2!.on('refer', (b: { status: number; final: boolean }) => {
        progress.push(b.status);
        if (b.final) resolve(b.status);
      }),
    );
    const r = await agents.h2!.refer({ vtep: VTEP.h4 }); // the new host named by its VTEP
    expect(r.status, r.reason).toBe(202);
    expect(await final).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    ping.kill('SIGINT');
    await once(ping, 'exit');
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(m, out.slice(-300)).not.toBeNull();
    const [sent, received] = [Number(m![1]), Number(m![2])];
    console.log(`REFER h2 → h4 under a 50 ms ping: ${sent} sent, ${received} received, ${sent - received} lost during the move`);
    expect(received).toBeGreaterThan(0);
    expect(pings(ns.vm1, '192.0.2.11')).toBe(true);
    // h4 now carries VM2; h2 has nothing of the VNI left.
    expect(ipn(ns.h4, 'link', 'show', 'vm2')).toMatch(/master nvob1000/);
    expect(ipn(ns.h2, 'link', 'show')).not.toMatch(/nvox5001/);
    expect(fdb(ns.h1)).toMatch(/02:00:00:00:02:01 dst 192\.0\.2\.204/);
  }, 90_000);
});
