// Use cases 3 and 4 and BYE end to end on real Redis and real WebSockets: two hNVEs on pod1, one on
// pod2, two tenants (acme with multicast). After each step, every answer and every device's desired
// state are compared whole: with literal values at the first and fourth step, and at every step with
// what a restatement of the seed's rules (below) computes from the inventory.
import { afterEach, describe, expect, it } from 'vitest';
import { emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { HNVES, INVENTORY, startStack, type Stack } from './harness.ts';

let s: Stack;
afterEach(() => s?.close());

const DEVICES = ['tor1', 'tor2', 'tor3', 'wan1', 'tgw1'];
async function desiredAll(): Promise<Record<string, DeviceConfig>> {
  const out: Record<string, DeviceConfig> = {};
  for (const d of DEVICES) out[d] = (await s.state.desired(d)).config;
  return out;
}
const cfg = (c: Partial<DeviceConfig>): DeviceConfig => ({ ...emptyConfig(), ...c });
const acmeVrf = { name: 'acme', rd: '65000:5001', importTargets: ['65000:5001'], exportTargets: ['65000:5001'] };
const globexVrf = { name: 'globex', rd: '203.0.113.1:2', importTargets: ['65000:2'], exportTargets: ['65000:2'] };

// The seed's rules, restated from the inventory, to compute what every answer and device must be.
type Cid = 'acme' | 'globex';
type Pod = (typeof INVENTORY.pods)[number];
const device = (id: string) => INVENTORY.devices.find((d) => d.id === id)!;
const podOf = (id: string): Pod => INVENTORY.pods.find((p) => p.id === id)!;
const tenantOf = (cid: Cid) => INVENTORY.tenants.find((t) => t.cid === cid)!;
const inRanges = (v: number, ranges: readonly string[]) =>
  ranges.some((r) => {
    const [lo, hi] = r.split('-').map(Number);
    return v >= lo! && v <= hi!;
  });
/** Use case 4: the lowest VLAN free at the pod, the WAN gateway and the ToR gateway alike. */
const lowestFreeVlan = (pod: Pod, taken: { pod: number[]; gateways: number[] }) => {
  for (let v = 1; v <= 4094; v++) {
    const free = inRanges(v, pod.vlanRanges) && inRanges(v, device(pod.wanGateway).vlanRanges!) && inRanges(v, device(pod.torGateway).vlanRanges!);
    if (free && !taken.pod.includes(v) && !taken.gateways.includes(v)) return v;
  }
  throw new Error('no VLAN');
};
// Both pods sit behind the same gateways, so a CID has one VLAN there: acme takes the first free one
// (in pod1), globex the next (free in pod2, but acme's is taken at the gateways), and acme in pod2 the
// one it already has behind the gateways.
const VLAN: Record<Cid, number> = { acme: lowestFreeVlan(podOf('pod1'), { pod: [], gateways: [] }), globex: 0 };
VLAN.globex = lowestFreeVlan(podOf('pod2'), { pod: [], gateways: [VLAN.acme] });
/** acme's VNI is fixed in its mapping; globex takes the first of the settings' pool. */
const VNI: Record<Cid, number> = { acme: INVENTORY.vnis.find((v) => v.cid === 'acme')!.vni!, globex: Number(INVENTORY.settings.vniPool[0]!.split('-')[0]) };
/** Multicast tenants get the first group of the NG-MVPN gateway's pool (a /24: its network address). */
const GROUP: Record<Cid, string | null> = { acme: tenantOf('acme').multicast ? device('wan1').mcastGroups![0]!.split('/')[0]! : null, globex: tenantOf('globex').multicast ? 'unexpected' : null };
/** The tenant's most preferred encapsulation that the hNVE and both gateways support. */
const ENCAP = (cid: Cid, nve: string) => tenantOf(cid).encapsulations.find((e) => [HNVES.find((h) => h.id === nve)!.encapsulations, device('wan1').encapsulations, device('tgw1').encapsulations].every((l) => l.includes(e)))!;
const VRF: Record<Cid, typeof acmeVrf> = { acme: acmeVrf, globex: globexVrf };
const irbAddress = (cid: Cid) => `${tenantOf(cid).gateway}/${tenantOf(cid).subnet.split('/')[1]}`;
interface Vm { cid: Cid; pod: string; mac: string; vtep: string; nve: string }
const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

/** Every device's desired state for the VMs that are up (the seed's use case 4, per device role). */
function expectedDesired(vms: Vm[]): Record<string, DeviceConfig> {
  const out: Record<string, DeviceConfig> = Object.fromEntries(DEVICES.map((d) => [d, emptyConfig()]));
  const cids = sortedUnique(vms.map((v) => v.cid)) as Cid[]; // acme's VLAN and VNI sort first
  const vni = (cid: Cid, withVrf: boolean) => ({ vni: VNI[cid], vlan: VLAN[cid], encapsulation: ENCAP(cid, vms.find((v) => v.cid === cid)!.nve), ...(withVrf ? { vrf: cid } : {}), ...(GROUP[cid] ? { mcastGroup: GROUP[cid] } : {}) });
  for (const pod of INVENTORY.pods) {
    const routesOnTors = pod.routing === 'tor';
    for (const cid of cids.filter((c) => vms.some((v) => v.cid === c && v.pod === pod.id))) {
      for (const tor of pod.tors) {
        const c = out[tor]!;
        c.vlans.push({ id: VLAN[cid], name: cid });
        c.vnis.push(vni(cid, routesOnTors));
        // ToRs flood to the hNVEs of their own pod and hold no MAC entries.
        c.floods.push(...sortedUnique(vms.filter((v) => v.cid === cid && v.pod === pod.id).map((v) => v.vtep)).map((vtep) => ({ vni: VNI[cid], vtep })));
        if (routesOnTors) {
          c.vrfs.push(VRF[cid]);
          c.irbs.push({ vlan: VLAN[cid], vrf: cid, address: irbAddress(cid) });
        }
      }
    }
  }
  for (const cid of cids) {
    const mine = vms.filter((v) => v.cid === cid);
    const floods = sortedUnique(mine.map((v) => v.vtep)).map((vtep) => ({ vni: VNI[cid], vtep }));
    const macs = [...mine].sort((a, b) => (a.mac < b.mac ? -1 : 1)).map((v) => ({ vni: VNI[cid], mac: v.mac, vtep: v.vtep }));
    const wan = out.wan1!;
    wan.vlans.push({ id: VLAN[cid], name: cid });
    wan.vrfs.push(VRF[cid]);
    wan.vnis.push(vni(cid, true));
    wan.floods.push(...floods);
    wan.macs.push(...macs);
    // The default gateway lives on the WAN gateway for pods that route behind the backbone.
    if (mine.some((v) => podOf(v.pod).routing === 'gateway')) wan.irbs.push({ vlan: VLAN[cid], vrf: cid, address: irbAddress(cid) });
    const tgw = out.tgw1!;
    tgw.vlans.push({ id: VLAN[cid], name: cid });
    tgw.vnis.push(vni(cid, false));
    tgw.floods.push(...floods);
    tgw.macs.push(...macs);
  }
  return out;
}

/** The 200 of an INVITE: the network proxy's allocation plus the tenant data, with the VNI's MAC table. */
function expectedAnswer(vm: Vm, up: Vm[]) {
  const enc = ENCAP(vm.cid, vm.nve);
  const pod = podOf(vm.pod);
  const t = tenantOf(vm.cid);
  return {
    cid: vm.cid, pod: vm.pod, vlan: VLAN[vm.cid], vni: VNI[vm.cid], group: GROUP[vm.cid], encapsulation: enc, vrf: vm.cid,
    gateways: { wan: { id: 'wan1', vtep: device('wan1').vtep, encapsulation: enc }, tor: { id: 'tgw1', vtep: device('tgw1').vtep, encapsulation: enc } },
    macTable: up.filter((v) => v.cid === vm.cid).sort((a, b) => (a.mac < b.mac ? -1 : 1)).map((v) => ({ mac: v.mac, vtep: v.vtep })),
    branches: [{ proxy: 'np1', devices: [...pod.tors, pod.wanGateway, pod.torGateway] }],
    subnet: t.subnet, gateway: t.gateway, multicast: t.multicast, vtep: vm.vtep,
  };
}

describe('REGISTER, INVITE, BYE across two pods and two tenants', () => {
  it('gives exactly the seed’s answers and desired state after each step', async () => {
    s = await startStack();
    const [h1, h2, h3] = [await s.agent('h1'), await s.agent('h2'), await s.agent('h3')];
    const vm1: Vm = { cid: 'acme', pod: 'pod1', mac: '02:00:00:00:01:01', vtep: '192.0.2.201', nve: 'h1' };
    const vm2: Vm = { cid: 'acme', pod: 'pod1', mac: '02:00:00:00:02:01', vtep: '192.0.2.202', nve: 'h2' };
    const gm3: Vm = { cid: 'globex', pod: 'pod2', mac: '02:00:00:00:03:01', vtep: '198.51.100.203', nve: 'h3' };
    const vm3: Vm = { cid: 'acme', pod: 'pod2', mac: '02:00:00:00:03:02', vtep: '198.51.100.203', nve: 'h3' };

    // Before REGISTER an INVITE is refused and nothing changes.
    expect((await h1.invite({ mac: '02:00:00:00:01:01' }, 'acme')).status).toBe(403);
    for (const h of [h1, h2, h3]) expect((await h.register(60)).status).toBe(200);
    expect((await h1.register(60)).body).toEqual({ expires: 60, pod: 'pod1', vtep: '192.0.2.201', encapsulations: ['vxlan', 'nvgre'] });
    expect(await desiredAll()).toEqual(Object.fromEntries(DEVICES.map((d) => [d, emptyConfig()])));

    // Step 1: acme VM on h1 (pod1, routing on the ToRs). VLAN 1000 is the lowest free at pod1 (1-4000), wan1 (100-1999) and tgw1 (1000-2999).
    const provisional: number[] = [];
    const a1 = await h1.invite({ mac: '02:00:00:00:01:01', ip: '192.0.2.10' }, 'acme', { onProvisional: (r) => provisional.push(r.status) });
    expect(a1.status, a1.reason).toBe(200);
    expect(provisional).toEqual([100, 183]);
    const gateways = (enc: string) => ({ wan: { id: 'wan1', vtep: '203.0.113.1', encapsulation: enc }, tor: { id: 'tgw1', vtep: '203.0.113.2', encapsulation: enc } });
    expect(a1.body).toEqual({
      cid: 'acme', pod: 'pod1', vlan: 1000, vni: 5001, group: '232.1.1.0', encapsulation: 'vxlan', vrf: 'acme',
      gateways: gateways('vxlan'),
      macTable: [{ mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }],
      branches: [{ proxy: 'np1', devices: ['tor1', 'tor2', 'wan1', 'tgw1'] }],
      subnet: '192.0.2.0/25', gateway: '192.0.2.1', multicast: true, vtep: '192.0.2.201',
    });
    const acmeVni = { vni: 5001, vlan: 1000, encapsulation: 'vxlan', mcastGroup: '232.1.1.0' };
    const torAcme = (floods: string[]) => cfg({ vlans: [{ id: 1000, name: 'acme' }], vrfs: [acmeVrf], vnis: [{ ...acmeVni, vrf: 'acme' }], irbs: [{ vlan: 1000, vrf: 'acme', address: '192.0.2.1/25' }], floods: floods.map((vtep) => ({ vni: 5001, vtep })) });
    expect(await desiredAll()).toEqual({
      tor1: torAcme(['192.0.2.201']),
      tor2: torAcme(['192.0.2.201']),
      tor3: emptyConfig(),
      wan1: cfg({ vlans: [{ id: 1000, name: 'acme' }], vrfs: [acmeVrf], vnis: [{ ...acmeVni, vrf: 'acme' }], floods: [{ vni: 5001, vtep: '192.0.2.201' }], macs: [{ vni: 5001, mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }] }),
      tgw1: cfg({ vlans: [{ id: 1000, name: 'acme' }], vnis: [acmeVni], floods: [{ vni: 5001, vtep: '192.0.2.201' }], macs: [{ vni: 5001, mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }] }),
    });
    // The model of the seed's rules says the same (the literal values above check the model).
    expect(a1.body).toEqual(expectedAnswer(vm1, [vm1]));
    expect(await desiredAll()).toEqual(expectedDesired([vm1]));

    // Step 2: a second acme VM on h2 (same pod): same VLAN, the MAC table now has both, h1 hears of it.
    const a2 = await h2.invite({ mac: '02:00:00:00:02:01' }, 'acme');
    expect(a2.status, a2.reason).toBe(200);
    expect(a2.body).toEqual(expectedAnswer(vm2, [vm1, vm2]));
    expect(a2.body.macTable).toEqual([{ mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }, { mac: '02:00:00:00:02:01', vtep: '192.0.2.202' }]);
    expect(await desiredAll()).toEqual(expectedDesired([vm1, vm2]));
    // Every hNVE of the VNI hears every numbered change, its own too (issue 3: revisions never skip).
    await expect.poll(() => h1.notifications.map((n) => n.body)).toEqual([
      { event: 'mac-table', cid: 'acme', vni: 5001, base: 0, revision: 1, entries: [{ revision: 1, added: [{ mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }], removed: [], floodsAdded: [], floodsRemoved: [] }] },
      { event: 'mac-table', cid: 'acme', vni: 5001, base: 1, revision: 2, entries: [{ revision: 2, added: [{ mac: '02:00:00:00:02:01', vtep: '192.0.2.202' }], removed: [], floodsAdded: [], floodsRemoved: [] }] },
    ]);

    // A repeated INVITE of an established call (a new transaction) gets the same answer with the VNI's
    // table as it is now; the stored records keep no table (it is the whole VNI's, once per session).
    const again = await h1.invite({ mac: '02:00:00:00:01:01', ip: '192.0.2.10' }, 'acme', { callId: a1.callId });
    expect(again.status, again.reason).toBe(200);
    expect(again.body).toEqual({ ...a1.body, macTable: a2.body.macTable });
    const stored = [await s.t.redis.get(s.t.k.session(a1.callId)), await s.t.redis.get(s.t.k.branch('np1', a1.callId))];
    for (const raw of stored) {
      expect(raw).toContain('"vni":5001');
      expect(raw).not.toContain('macTable');
    }

    // Step 3: globex (no multicast, prefers nvgre; routing on the gateways for pod2) on h3 in pod2.
    const g3 = await h3.invite({ mac: '02:00:00:00:03:01' }, 'globex');
    expect(g3.status, g3.reason).toBe(200);
    expect(g3.body).toEqual(expectedAnswer(gm3, [gm3]));
    expect(g3.body).toMatchObject({ cid: 'globex', pod: 'pod2', vlan: 1001, vni: 10000, group: null, encapsulation: 'nvgre', vrf: 'globex', gateways: gateways('nvgre'), multicast: false });
    expect(await desiredAll()).toEqual(expectedDesired([vm1, vm2, gm3]));
    // Step 4: acme on pod2 (h3): the SAME VLAN behind the same gateways, and pod2 routes on the gateways.
    const a3 = await h3.invite({ mac: '02:00:00:00:03:02' }, 'acme');
    expect(a3.status, a3.reason).toBe(200);
    expect(a3.body).toEqual(expectedAnswer(vm3, [vm1, vm2, gm3, vm3]));
    expect(a3.body).toMatchObject({ vlan: 1000, vni: 5001, group: '232.1.1.0', pod: 'pod2' });

    const d4 = await desiredAll();
    expect(d4).toEqual(expectedDesired([vm1, vm2, gm3, vm3]));
    expect(d4.tor1).toEqual(torAcme(['192.0.2.201', '192.0.2.202']));
    expect(d4.tor3).toEqual(cfg({
      vlans: [{ id: 1000, name: 'acme' }, { id: 1001, name: 'globex' }],
      vnis: [{ vni: 5001, vlan: 1000, encapsulation: 'vxlan', mcastGroup: '232.1.1.0' }, { vni: 10000, vlan: 1001, encapsulation: 'nvgre' }],
      floods: [{ vni: 5001, vtep: '198.51.100.203' }, { vni: 10000, vtep: '198.51.100.203' }],
    }));
    expect(d4.wan1).toEqual(cfg({
      vlans: [{ id: 1000, name: 'acme' }, { id: 1001, name: 'globex' }],
      vrfs: [acmeVrf, globexVrf],
      vnis: [{ ...acmeVni, vrf: 'acme' }, { vni: 10000, vlan: 1001, encapsulation: 'nvgre', vrf: 'globex' }],
      floods: [{ vni: 5001, vtep: '192.0.2.201' }, { vni: 5001, vtep: '192.0.2.202' }, { vni: 5001, vtep: '198.51.100.203' }, { vni: 10000, vtep: '198.51.100.203' }],
      macs: [
        { vni: 5001, mac: '02:00:00:00:01:01', vtep: '192.0.2.201' },
        { vni: 5001, mac: '02:00:00:00:02:01', vtep: '192.0.2.202' },
        { vni: 5001, mac: '02:00:00:00:03:02', vtep: '198.51.100.203' },
        { vni: 10000, mac: '02:00:00:00:03:01', vtep: '198.51.100.203' },
      ],
      irbs: [{ vlan: 1000, vrf: 'acme', address: '192.0.2.1/25' }, { vlan: 1001, vrf: 'globex', address: '198.51.100.1/24' }],
    }));

    // An NVE cannot end another NVE's session.
    expect((await h2.bye(a1.callId)).status).toBe(403);
    expect((await h2.bye('no-such-call')).status).toBe(481);

    // Step 5: BYE of h1's VM: its MAC and flood go everywhere; the VLAN stays (h2 still has a VM in pod1).
    expect((await h1.bye(a1.callId)).status).toBe(200);
    const d5 = await desiredAll();
    expect(d5).toEqual(expectedDesired([vm2, gm3, vm3]));
    expect(d5.tor1).toEqual(torAcme(['192.0.2.202']));
    expect(d5.wan1!.macs.map((m) => m.mac)).toEqual(['02:00:00:00:02:01', '02:00:00:00:03:02', '02:00:00:00:03:01']);
    await expect.poll(() => h2.notifications.at(-1)?.body).toMatchObject({ event: 'mac-table', cid: 'acme', vni: 5001, entries: [{ added: [], removed: [{ mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }] }] });

    // Step 6: the last acme VM of pod1 leaves: pod1's ToRs drop everything, the VLAN binding of (acme, pod1) is released.
    expect((await h2.bye(a2.callId)).status).toBe(200);
    const d6 = await desiredAll();
    expect(d6).toEqual(expectedDesired([gm3, vm3]));
    expect(d6.tor1).toEqual(emptyConfig());
    expect(d6.tor2).toEqual(emptyConfig());
    expect(await s.t.redis.exists(s.t.k.vlanBinding('acme', 'pod1'))).toBe(0);
    expect(d6.wan1!.vlans).toEqual([{ id: 1000, name: 'acme' }, { id: 1001, name: 'globex' }]); // pod2 still uses both

    // Step 7: everything goes; every device is empty, no VLAN and no group is held.
    expect((await h3.bye(a3.callId)).status).toBe(200);
    expect((await h3.bye(g3.callId)).status).toBe(200);
    expect(await desiredAll()).toEqual(Object.fromEntries(DEVICES.map((d) => [d, emptyConfig()])));
    expect(await s.t.redis.keys(`${s.t.prefix}alloc:vlan:bind:*`)).toEqual([]);
    expect(await s.t.redis.hlen(s.t.k.groupByCid('wan1'))).toBe(0);
  }, 60_000);

  it('refuses unauthenticated and wrongly signed REGISTER and INVITE, changing nothing', async () => {
    s = await startStack();
    const before = await s.durableSnapshot();
    const { ProtocolClient } = await import('../../src/proxy/transport/ws-client.ts');
    const c = await ProtocolClient.connect(s.url, { identity: 'h1', secret: 'not-the-secret-of-h1', peer: 'tp1' });
    for (const method of ['REGISTER', 'INVITE'] as const) {
      const bare = await c.once(c.build(method, `call-${method}`, method === 'INVITE' ? { cid: 'acme', vm: { mac: '02:00:00:00:09:09' } } : {}, false));
      expect(bare.status).toBe(401);
      expect(bare.body).toMatchObject({ algorithm: 'HMAC-SHA-256', nonce: expect.stringMatching(/^[0-9a-f]{32}$/) });
      const wrong = await c.request(method, method === 'INVITE' ? { cid: 'acme', vm: { mac: '02:00:00:00:09:09' } } : {});
      expect(wrong.status).toBe(403);
    }
    await c.close();
    // Only the nonces (transient, with a TTL) were written.
    expect(await s.durableSnapshot()).toBe(before);
  }, 30_000);
});
