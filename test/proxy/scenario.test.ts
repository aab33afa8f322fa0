// Use cases 3 and 4 and BYE end to end on real Redis and real WebSockets: two hNVEs on pod1, one on
// pod2, two tenants (acme with multicast). After each step, every answer and every device's desired
// state are compared whole.
import { afterEach, describe, expect, it } from 'vitest';
import { emptyConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { startStack, type Stack } from './harness.ts';

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

describe('REGISTER, INVITE, BYE across two pods and two tenants', () => {
  it('gives exactly the seed’s answers and desired state after each step', async () => {
    s = await startStack();
    const [h1, h2, h3] = [await s.agent('h1'), await s.agent('h2'), await s.agent('h3')];

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

    // Step 2: a second acme VM on h2 (same pod): same VLAN, the MAC table now has both, h1 hears of it.
    const a2 = await h2.invite({ mac: '02:00:00:00:02:01' }, 'acme');
    expect(a2.status, a2.reason).toBe(200);
    expect(a2.body.vlan).toBe(1000);
    expect(a2.body.macTable).toEqual([{ mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }, { mac: '02:00:00:00:02:01', vtep: '192.0.2.202' }]);
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
    expect(g3.body).toMatchObject({ cid: 'globex', pod: 'pod2', vlan: 1001, vni: 10000, group: null, encapsulation: 'nvgre', vrf: 'globex', gateways: gateways('nvgre'), multicast: false });
    // Step 4: acme on pod2 (h3): the SAME VLAN behind the same gateways, and pod2 routes on the gateways.
    const a3 = await h3.invite({ mac: '02:00:00:00:03:02' }, 'acme');
    expect(a3.status, a3.reason).toBe(200);
    expect(a3.body).toMatchObject({ vlan: 1000, vni: 5001, group: '232.1.1.0', pod: 'pod2' });

    const d4 = await desiredAll();
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
    expect(d5.tor1).toEqual(torAcme(['192.0.2.202']));
    expect(d5.wan1!.macs.map((m) => m.mac)).toEqual(['02:00:00:00:02:01', '02:00:00:00:03:02', '02:00:00:00:03:01']);
    await expect.poll(() => h2.notifications.at(-1)?.body).toMatchObject({ event: 'mac-table', cid: 'acme', vni: 5001, entries: [{ added: [], removed: [{ mac: '02:00:00:00:01:01', vtep: '192.0.2.201' }] }] });

    // Step 6: the last acme VM of pod1 leaves: pod1's ToRs drop everything, the VLAN binding of (acme, pod1) is released.
    expect((await h2.bye(a2.callId)).status).toBe(200);
    const d6 = await desiredAll();
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
    const before = await s.t.snapshot();
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
    const strip = (snap: string) => snap.split('\n').filter((l) => !l.startsWith(`${s.t.prefix}msg:`)).join('\n');
    expect(strip(await s.t.snapshot())).toBe(strip(before));
  }, 30_000);
});
