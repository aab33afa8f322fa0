// The Linux data plane on a real kernel: two hypervisor namespaces joined by an underlay veth
// (203.0.113.0/24), a VM namespace behind each (192.0.2.0/24, MTU 1450 for the 50 bytes of VXLAN
// over a 1500 underlay). Needs root for `ip netns`; skips with the reason otherwise. Every namespace
// is the test's own and is deleted in afterAll, which takes every device in it along.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { diffConfig, emptyConfig, normalizeConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { LinuxDataPlane } from '../../src/dataplane/linux/linux-data-plane.ts';
import { vrfDeviceName } from '../../src/dataplane/linux/names.ts';
import { irbMac } from '../../src/dataplane/linux/plan.ts';
import { netnsSkipReason } from '../support/netns.ts';

const why = netnsSkipReason({ ping: true });
if (why) console.log(`skipping the Linux data plane test: ${why}`);

const tag = `nvt${process.pid}`;
const ns = { hv1: `${tag}-hv1`, hv2: `${tag}-hv2`, vm1: `${tag}-vm1`, vm2: `${tag}-vm2` };
const made: string[] = [];
const VTEP1 = '203.0.113.1';
const VTEP2 = '203.0.113.2';
const MAC1 = '02:00:5e:00:01:01';
const MAC2 = '02:00:5e:00:02:02';

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function addNs(name: string): void {
  sh(['ip', 'netns', 'add', name]);
  made.push(name);
  sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

// A VM: its eth0 in its own namespace, the other end (`port`) in the hypervisor's.
function addVm(vm: string, hv: string, port: string, mac: string, addr: string): void {
  addNs(vm);
  sh(['ip', '-n', vm, 'link', 'add', 'eth0', 'mtu', '1450', 'address', mac, 'type', 'veth', 'peer', 'name', port, 'mtu', '1450', 'netns', hv]);
  sh(['ip', '-n', vm, 'address', 'add', addr, 'dev', 'eth0']);
  sh(['ip', '-n', vm, 'link', 'set', 'eth0', 'up']);
}

function pings(from: string, to: string): boolean {
  // A few tries: the first ARP of a fresh segment can be lost while ports come up.
  for (let i = 0; i < 4; i++) {
    if (spawnSync('ip', ['netns', 'exec', from, 'ping', '-c', '1', '-W', '1', to]).status === 0) return true;
  }
  return false;
}

/**
 * What a refused change must leave untouched: links, configured fdb entries and addresses. Left out is
 * what the kernel changes by itself while traffic flows: learned (dynamic) bridge entries, carrier
 * flags, counters and timers, IPv6 duplicate-address-detection state.
 */
const CARRIER = new Set(['NO-CARRIER', 'LOWER_UP', 'M-DOWN', 'DORMANT']);
function snapshot(n: string): string {
  const links = (JSON.parse(sh(['ip', '-n', n, '-d', '-j', 'link', 'show'])) as Record<string, unknown>[]).map((l) => ({
    ifname: l.ifname,
    ifalias: l.ifalias,
    master: l.master,
    flags: (l.flags as string[]).filter((f) => !CARRIER.has(f)),
    mtu: l.mtu,
    kind: (l.linkinfo as { info_kind?: string } | undefined)?.info_kind,
    data: (l.linkinfo as { info_data?: Record<string, unknown> } | undefined)?.info_data?.id,
  }));
  // nvo's bridge entries of remote MACs (`extern_learn`) have an empty state too, but they are configuration.
  const fdb = (JSON.parse(sh(['bridge', '-n', n, '-j', 'fdb', 'show'])) as { state?: string; flags?: string[] }[]).filter((r) => r.state !== '' || r.flags?.includes('extern_learn'));
  const addrs = (JSON.parse(sh(['ip', '-n', n, '-j', 'address', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[]).map((a) => ({
    ifname: a.ifname,
    addrs: a.addr_info.map((i) => `${i.local}/${i.prefixlen}`),
  }));
  return JSON.stringify({ links, fdb, addrs });
}

function remoteFdb(n: string, dev: string): string[] {
  return (JSON.parse(sh(['bridge', '-n', n, '-j', 'fdb', 'show', 'dev', dev])) as { mac: string; dst?: string }[])
    .filter((r) => r.dst)
    .map((r) => `${r.mac}>${r.dst}`)
    .sort();
}

// What the network proxy would push to each hypervisor for one VNI with the two VMs.
function hostConfig(remoteVtep: string, remoteMac: string): DeviceConfig {
  return normalizeConfig({
    ...emptyConfig(),
    vlans: [{ id: 10, name: 'tenant-a' }],
    vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan' }],
    floods: [{ vni: 5010, vtep: remoteVtep }],
    macs: [{ vni: 5010, mac: remoteMac, vtep: remoteVtep }],
  });
}

describe.skipIf(why !== null)('Linux VXLAN data plane in network namespaces', () => {
  let dp1: LinuxDataPlane;
  let dp2: LinuxDataPlane;
  const cfg1 = hostConfig(VTEP2, MAC2);
  const cfg2 = hostConfig(VTEP1, MAC1);

  beforeAll(() => {
    addNs(ns.hv1);
    addNs(ns.hv2);
    sh(['ip', '-n', ns.hv1, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', ns.hv2]);
    sh(['ip', '-n', ns.hv1, 'address', 'add', `${VTEP1}/24`, 'dev', 'ul0']);
    sh(['ip', '-n', ns.hv2, 'address', 'add', `${VTEP2}/24`, 'dev', 'ul0']);
    sh(['ip', '-n', ns.hv1, 'link', 'set', 'ul0', 'up']);
    sh(['ip', '-n', ns.hv2, 'link', 'set', 'ul0', 'up']);
    addVm(ns.vm1, ns.hv1, 'vm1p', MAC1, '192.0.2.11/24');
    addVm(ns.vm2, ns.hv2, 'vm2p', MAC2, '192.0.2.12/24');
    dp1 = new LinuxDataPlane({ netns: ns.hv1, localVtep: VTEP1, underlayDev: 'ul0' });
    dp2 = new LinuxDataPlane({ netns: ns.hv2, localVtep: VTEP2, underlayDev: 'ul0' });
  });

  afterAll(() => {
    for (const n of made.reverse()) spawnSync('ip', ['netns', 'del', n]);
    const left = sh(['ip', 'netns', 'list']);
    expect(made.filter((n) => left.includes(n))).toEqual([]);
  });

  it('carries VM-to-VM traffic through VXLAN once the VNI, flood and MAC entries are applied, idempotently', async () => {
    expect(pings(ns.vm1, '192.0.2.12')).toBe(false);
    await dp1.apply(diffConfig(emptyConfig(), cfg1));
    await dp2.apply(diffConfig(emptyConfig(), cfg2));
    await dp1.attachPort({ port: 'vm1p', vni: 5010 });
    await dp2.attachPort({ port: 'vm2p', vni: 5010 });

    const once = snapshot(ns.hv1);
    await dp1.apply(diffConfig(emptyConfig(), cfg1));
    await dp1.attachPort({ port: 'vm1p', vni: 5010 });
    expect(snapshot(ns.hv1)).toBe(once);
    expect(await dp1.read()).toEqual(cfg1);
    expect(await dp1.readPorts()).toEqual([{ port: 'vm1p', vni: 5010 }]);

    // The kernel's own view: a nolearning VXLAN device in the VLAN's bridge, exactly our two entries.
    const vx = JSON.parse(sh(['ip', '-n', ns.hv1, '-d', '-j', 'link', 'show', 'nvox5010']))[0];
    expect(vx.master).toBe('nvob10');
    expect(vx.linkinfo.info_data).toMatchObject({ id: 5010, local: VTEP1, port: 4789, learning: false });
    expect(remoteFdb(ns.hv1, 'nvox5010')).toEqual([`00:00:00:00:00:00>${VTEP2}`, `${MAC2}>${VTEP2}`]);

    expect(pings(ns.vm1, '192.0.2.12')).toBe(true);
    expect(pings(ns.vm2, '192.0.2.11')).toBe(true);
    // The bridge learned nothing behind the tunnel, though VM2's frames came that way: its only entry
    // there is nvo's (a learned one would outlive VM2 moving to this host, see plan-bridge.test.ts).
    expect(JSON.parse(sh(['ip', '-n', ns.hv1, '-d', '-j', 'link', 'show', 'nvox5010']))[0].linkinfo.info_slave_data.learning).toBe(false);
    const bridged = (JSON.parse(sh(['bridge', '-n', ns.hv1, '-j', 'fdb', 'show', 'dev', 'nvox5010'])) as { mac: string; master?: string; flags: string[]; state: string }[]).filter((r) => r.master && r.state !== 'permanent'); // the port's own address is permanent
    expect(bridged.map((r) => `${r.mac} ${r.flags.join(',')}`)).toEqual([`${MAC2} extern_learn`]);
  });

  it('reconcile restores its own state after out-of-band changes and leaves foreign devices alone', async () => {
    sh(['bridge', '-n', ns.hv1, 'fdb', 'del', MAC2, 'dev', 'nvox5010', 'dst', VTEP2]);
    sh(['bridge', '-n', ns.hv1, 'fdb', 'append', '02:00:5e:00:09:09', 'dev', 'nvox5010', 'dst', '203.0.113.99']);
    sh(['ip', '-n', ns.hv1, 'link', 'set', 'nvob10', 'down']);
    // Foreign devices, one even with a name in nvo's style: not ours, so never touched.
    sh(['ip', '-n', ns.hv1, 'link', 'add', 'testbr0', 'type', 'bridge']);
    sh(['ip', '-n', ns.hv1, 'link', 'add', 'nvob99', 'type', 'bridge']);
    expect(remoteFdb(ns.hv1, 'nvox5010')).toEqual([`00:00:00:00:00:00>${VTEP2}`, `02:00:5e:00:09:09>203.0.113.99`]);

    const change = await dp1.reconcile(cfg1);
    expect(change.merge.macs).toEqual([{ vni: 5010, mac: MAC2, vtep: VTEP2 }]);
    expect(change.remove.macs).toEqual([{ vni: 5010, mac: '02:00:5e:00:09:09', vtep: '203.0.113.99' }]);
    expect(remoteFdb(ns.hv1, 'nvox5010')).toEqual([`00:00:00:00:00:00>${VTEP2}`, `${MAC2}>${VTEP2}`]);
    expect(await dp1.read()).toEqual(cfg1);
    sh(['ip', '-n', ns.hv1, 'link', 'show', 'testbr0']);
    sh(['ip', '-n', ns.hv1, 'link', 'show', 'nvob99']);
    expect(pings(ns.vm1, '192.0.2.12')).toBe(true);

    // Reconciling again needs nothing.
    const again = await dp1.reconcile(cfg1);
    expect(again).toEqual(diffConfig(cfg1, cfg1));
  });

  it('refuses malformed or contradictory input with the field at fault and leaves the kernel untouched', async () => {
    const before = snapshot(ns.hv1);
    const cases: { input: unknown; field: string; re: RegExp }[] = [
      { input: { merge: { ...emptyConfig(), macs: [{ vni: 5010, mac: '02:00:5e:zz:00:01', vtep: VTEP2 }] }, remove: emptyConfig() }, field: 'merge.macs[0].mac', re: /not a MAC/ },
      { input: { merge: { ...emptyConfig(), macs: [{ vni: 7777, mac: '02:00:5e:00:07:07', vtep: VTEP2 }] }, remove: emptyConfig() }, field: 'merge.macs[0].vni', re: /VNI 7777 is not configured/ },
      { input: { merge: { ...emptyConfig(), vnis: [{ vni: 6000, vlan: 20, encapsulation: 'vxlan' }] }, remove: emptyConfig() }, field: 'merge.vnis[0].vlan', re: /VLAN 20 is not configured/ },
      { input: { merge: { ...emptyConfig(), floods: [{ vni: 5010, vtep: 'not-an-ip' }] }, remove: emptyConfig() }, field: 'merge.floods[0].vtep', re: /IP/ },
      // Removing the VLAN would orphan VNI 5010, which stays.
      { input: { merge: emptyConfig(), remove: { ...emptyConfig(), vlans: [{ id: 10, name: 'tenant-a' }] } }, field: 'vnis[5010].vlan', re: /VLAN 10 is not configured/ },
      {
        input: { merge: { ...emptyConfig(), vlans: [{ id: 10, name: 'a' }, { id: 10, name: 'b' }] }, remove: emptyConfig() },
        field: 'merge.vlans[1]',
        re: /contradicts/,
      },
    ];
    for (const c of cases) {
      const err = await dp1.apply(c.input as never).then(() => null, (e: unknown) => e);
      expect(err, c.field).toBeInstanceOf(NvoError);
      expect((err as NvoError).code).toBe('invalid-input');
      expect((err as NvoError).issues[0]).toMatchObject({ field: c.field, reason: expect.stringMatching(c.re) });
    }
    const bad = { ...cfg1, macs: [...cfg1.macs, { vni: 5010, mac: '01:00:5e:00:00:01', vtep: VTEP2 }] };
    await expect(dp1.reconcile(bad)).rejects.toMatchObject({ code: 'invalid-input', issues: [{ field: 'macs[1].mac' }] });
    await expect(dp1.attachPort({ port: 'vm1p; reboot', vni: 5010 })).rejects.toMatchObject({ code: 'invalid-input' });
    expect(snapshot(ns.hv1)).toBe(before);
  });

  it('puts an IRB address on the VLAN bridge in its VRF (a kernel VRF where there is one) and takes it away', async () => {
    const withIrb: DeviceConfig = normalizeConfig({
      ...cfg1,
      vrfs: [{ name: 'red', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] }],
      irbs: [{ vlan: 10, vrf: 'red', address: '192.0.2.1/24' }],
    });
    await dp1.apply(diffConfig(cfg1, withIrb));
    expect(await dp1.read()).toEqual(withIrb);
    const addrs = JSON.parse(sh(['ip', '-n', ns.hv1, '-j', 'address', 'show', 'dev', 'nvob10']))[0].addr_info.map((a: { local: string }) => a.local);
    expect(addrs).toContain('192.0.2.1');
    // The gateway answers the VM across the bridge, with the MAC its IRB decides (not a port's).
    const bridgeMac = () => JSON.parse(sh(['ip', '-n', ns.hv1, '-j', 'link', 'show', 'dev', 'nvob10']))[0].address as string;
    expect(bridgeMac()).toBe(irbMac({ vrf: 'red', address: '192.0.2.1/24' }));
    expect(pings(ns.vm1, '192.0.2.1')).toBe(true);
    const arp = () => JSON.parse(sh(['ip', '-n', ns.vm1, '-j', 'neigh', 'show', '192.0.2.1'])) as { lladdr?: string }[];
    expect(arp()[0]?.lladdr).toBe(bridgeMac());
    // Rebuilt from nothing (every session gone, then back), the segment's gateway keeps that MAC, so
    // the VM's ARP cache stays right and it reaches the gateway at once.
    await dp1.reconcile(emptyConfig());
    await dp1.apply(diffConfig(emptyConfig(), withIrb));
    await dp1.attachPort({ port: 'vm1p', vni: 5010 });
    expect(bridgeMac()).toBe(irbMac({ vrf: 'red', address: '192.0.2.1/24' }));
    expect(spawnSync('ip', ['netns', 'exec', ns.vm1, 'ping', '-c', '1', '-W', '1', '192.0.2.1']).status).toBe(0);
    const vrfDev = JSON.parse(sh(['ip', '-n', ns.hv1, '-d', '-j', 'link', 'show', 'dev', vrfDeviceName('red')]))[0];
    expect(vrfDev.linkinfo.info_kind).toBe((await dp1.capabilities()).vrf ? 'vrf' : 'bridge');

    // Moving the gateway address replaces it; reconciling to the plain config removes IRB and VRF.
    const moved = normalizeConfig({ ...withIrb, irbs: [{ vlan: 10, vrf: 'red', address: '192.0.2.254/24' }] });
    await dp1.apply(diffConfig(withIrb, moved));
    expect(await dp1.read()).toEqual(moved);
    await dp1.reconcile(cfg1);
    expect(await dp1.read()).toEqual(cfg1);
    expect(spawnSync('ip', ['-n', ns.hv1, 'link', 'show', 'dev', vrfDeviceName('red')]).status).not.toBe(0);
    expect(JSON.parse(sh(['ip', '-n', ns.hv1, '-j', 'address', 'show', 'dev', 'nvob10']))[0].addr_info.filter((a: { scope: string }) => a.scope === 'global')).toEqual([]);
  });

  it('adds and removes 500 MAC entries in one batch and reads back exactly them', async () => {
    const macs = Array.from({ length: 500 }, (_, i) => ({ vni: 5010, mac: `02:00:5e:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, vtep: `203.0.113.${10 + (i % 40)}` }));
    const big = normalizeConfig({ ...cfg1, macs: [...cfg1.macs, ...macs] });
    const before = dp1.runner.log.length;
    await dp1.apply({ merge: { ...emptyConfig(), macs }, remove: emptyConfig() });
    expect(await dp1.read()).toEqual(big);
    expect(remoteFdb(ns.hv1, 'nvox5010')).toHaveLength(502);
    expect(dp1.runner.log.length - before).toBeGreaterThanOrEqual(500);
    await dp1.apply(diffConfig(big, cfg1));
    expect(await dp1.read()).toEqual(cfg1);
    expect(pings(ns.vm1, '192.0.2.12')).toBe(true);
  });

  it('stops carrying traffic once the configuration is removed, and removes only its own devices', async () => {
    await dp1.apply(diffConfig(cfg1, emptyConfig()));
    await dp2.apply(diffConfig(cfg2, emptyConfig()));
    expect(await dp1.read()).toEqual(emptyConfig());
    expect(pings(ns.vm1, '192.0.2.12')).toBe(false);
    const names = (JSON.parse(sh(['ip', '-n', ns.hv1, '-j', 'link', 'show'])) as { ifname: string; master?: string }[]).map((l) => l.ifname).sort();
    expect(names).toEqual(['lo', 'nvob99', 'testbr0', 'ul0', 'vm1p']);
  });
});
