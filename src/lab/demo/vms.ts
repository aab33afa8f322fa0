// Use cases 4 and 5 on the lab: the hNVE agents INVITE their VMs, the proxies allocate and push,
// every aNVE is read back from itself, and packets cross the overlay (VM↔VM across hypervisors and
// pods, VM↔legacy host through the ToR gateway, VM↔WAN host through the WAN gateway); then INFO adds
// and deletes a MAC and every member's table follows.
import { compareConfigs } from '../../drivers/netconf/device-ops.ts';
import { getDialect } from '../../drivers/netconf/dialects/registry.ts';
import { notRenderedKinds } from '../../drivers/netconf/dialects/dialect.ts';
import type { DeviceConfig } from '../../model/device-config.ts';
import { macView } from '../../proxy/views/mac-view.ts';
import { deviceRows, vniRows } from '../../proxy/views/network-view.ts';
import { sessionRows } from '../../proxy/views/tenant-view.ts';
import { ipOf, podOf, summarize, vms, vtepOf, type DemoContext } from './context.ts';
import { agentStateOf, ctl, macsOf, until, untilSynced } from './observe.ts';

/** Reads every lab device from itself and proves it holds what nvo wants there; the configs by id. */
export async function devicesMatchDesired(c: DemoContext, what: string): Promise<Map<string, DeviceConfig>> {
  await untilSynced(c.views);
  const out = new Map<string, DeviceConfig>();
  for (const id of c.lab.topology.devices) {
    const d = (await c.store.get('device', id))!;
    const desired = await c.views.state.desired(id);
    const got = await c.devices.read(d);
    const r = compareConfigs(got.config, desired.config, d.driver === 'netconf' ? notRenderedKinds(getDialect(d.dialect!)) : []);
    const off = [...Object.entries(r.missing), ...Object.entries(r.extra)].filter(([, v]) => (v as unknown[]).length).map(([k]) => k);
    c.n.prove(`${id} ${what}: read over ${d.driver === 'netconf' ? 'NETCONF' : 'XMPP'}, it holds desired revision ${desired.revision}`, r.inSync, r.inSync ? undefined : `differs in ${[...off, ...r.differing.map((x) => x.kind)].join(', ')}`);
    out.set(id, got.config);
  }
  return out;
}

async function pingProof(c: DemoContext, from: string, toIp: string, label: string): Promise<void> {
  // The first packets may still meet a device applier a poll behind the commit: retry for a while.
  const r = await until(async () => {
    const p = await c.lab.ping(from, toIp, { count: 3, intervalS: 0.2, timeoutS: 1 });
    return p.received > 0 ? p : null;
  }, 20_000, 300);
  c.n.prove(`ping ${from} → ${toIp} ${label}`, Boolean(r), r ? `${r.received}/${r.sent} replies` : 'no reply within 20 s');
}

export async function uc4Invite(c: DemoContext): Promise<void> {
  const { n, lab } = c;
  const answers = new Map<string, Record<string, unknown>>();
  for (const vm of vms(c)) {
    n.say(`${vm.hypervisor} → tenant proxy: INVITE {cid: ${vm.cid}, vm: {mac: ${vm.mac}, ip: ${ipOf(vm.address)}}}  (${vm.vm})`);
    const r = await ctl(c.stateDir, vm.hypervisor, { op: 'invite', mac: vm.mac });
    const b = (r.body ?? {}) as Record<string, unknown>;
    const gw = Object.entries((b.gateways ?? {}) as Record<string, { vtep?: string }>).map(([k, g]) => `${k} ${g.vtep ?? '?'}`).join(', ');
    n.say(`   ← ${r.status} ${r.reason ?? ''}: VNI ${b.vni}, VLAN ${b.vlan}, encapsulation ${b.encapsulation}, group ${b.group ?? b.mcastGroup ?? 'none'}; gateways ${gw || '-'}; MAC table ${Array.isArray(b.macTable) ? b.macTable.length : Array.isArray(b.table) ? b.table.length : '?'} entr(ies)`);
    n.prove(`INVITE of ${vm.vm} answered 200`, r.status === 200, `${r.status} ${r.reason ?? ''}`);
    answers.set(vm.vm, b);
  }
  n.fact('answers', Object.fromEntries(answers));

  const configs = await devicesMatchDesired(c, 'after the INVITEs');
  n.say('what each aNVE received (nvo\'s part of its running configuration, read from the device):');
  for (const [id, cfg] of configs) n.say(`  ${id.padEnd(5)} ${summarize(cfg)}`);
  const wan = lab.topology.inv.devices.find((d) => d.ngMvpn && lab.topology.devices.includes(d.id));
  if (wan?.driver === 'netconf') {
    const native = (await c.devices.read((await c.store.get('device', wan.id))!)).native ?? '';
    n.say(`${wan.id}'s running configuration, nvo's subtree (NETCONF get-config):\n${native.replace(/></g, '>\n<').split('\n').slice(0, 30).join('\n')}\n…}`);
  }

  for (const t of (await c.store.list('tenant')).filter((x) => x.multicast && vms(c).some((v) => v.cid === x.cid))) {
    const vni = (await c.views.alloc.vniOf(t.cid))!;
    const onWan = wan ? configs.get(wan.id)?.vnis.find((v) => v.vni === vni) : undefined;
    n.prove(`NG-MVPN group allocated on ${wan?.id ?? 'the WAN gateway'} for multicast tenant ${t.cid}`, Boolean(onWan?.mcastGroup), onWan?.mcastGroup ? `VNI ${vni} group ${onWan.mcastGroup}` : 'no group');
    c.n.fact(`group-${t.cid}`, onWan?.mcastGroup);
  }

  n.say('nvo show sessions:');
  for (const s of await sessionRows(c.views)) n.say(`  ${s.nve} ${s.cid.padEnd(7)} ${s.mac} VNI ${s.vni} VLAN ${s.vlan} ${s.encapsulation} group ${s.group ?? '-'} ${s.state}`);
  n.say('nvo show vnis:');
  for (const v of await vniRows(c.views)) n.say(`  VNI ${v.vni} ${v.cid.padEnd(7)} VRF ${v.vrf ?? '-'} ${v.encapsulation} group ${v.group ?? '-'} VLANs ${v.pods.map((p) => `${p.pod}:${p.vlan}`).join(' ')} hNVEs ${v.hnves.map((h) => h.nve).join(',')} aNVEs ${v.anves.join(',')}`);

  // Every agent's kernel has the VNI of each of its VMs and a tunnel to every other member.
  for (const hv of lab.topology.hypervisors) {
    const st = await agentStateOf(c.stateDir, hv.id);
    const dp = st.dataPlane as DeviceConfig;
    const want = [...new Set(vms(c).filter((v) => v.hypervisor === hv.id).map((v) => Number(answers.get(v.vm)?.vni)))];
    n.prove(`${hv.id}'s data plane (read from its namespace) has VNI ${want.join(', ')} with tunnels`, want.every((v) => dp.vnis.some((x) => x.vni === v) && dp.floods.some((f) => f.vni === v)), summarize(dp));
  }

  // Packets: across hypervisors in one pod, across pods, to the legacy host and to the WAN host.
  const list = vms(c);
  for (const a of list) {
    for (const b of list) {
      if (a.vm >= b.vm || a.cid !== b.cid || a.hypervisor === b.hypervisor) continue;
      if (list.some((x) => x.cid === a.cid && x.vm < a.vm)) continue; // from the tenant's first VM only
      await pingProof(c, a.vm, ipOf(b.address), podOf(c, a.hypervisor) === podOf(c, b.hypervisor) ? `(${a.hypervisor} → ${b.hypervisor}, one pod)` : `(${a.hypervisor}/${podOf(c, a.hypervisor)} → ${b.hypervisor}/${podOf(c, b.hypervisor)}, across pods)`);
    }
  }
  for (const h of lab.topology.hosts) {
    const cid = h.cid ?? h.vrf;
    const from = list.find((v) => v.cid === cid);
    if (!from) continue;
    const role = lab.topology.inv.devices.find((d) => d.id === h.behind)?.role;
    await pingProof(c, from.vm, ipOf(h.address), `(${h.id}, through ${role === 'wan-gw' ? 'the WAN gateway' : 'the ToR gateway'} ${h.behind})`);
  }
}

const EXTRA_MAC = '02:00:00:00:01:99';

/** Each member's view of one MAC: agents from their tables and kernels, aNVEs read from themselves. */
async function everyMember(c: DemoContext, cid: string, vni: number, mac: string, vtep: string, present: boolean): Promise<void> {
  const { n } = c;
  const members = (await deviceRows(c.views, { vni })).map((r) => r.device).filter((d) => c.lab.topology.devices.includes(d));
  await untilSynced(c.views);
  for (const id of members) {
    const d = (await c.store.get('device', id))!;
    const desired = macsOf((await c.views.state.desired(id)).config, vni);
    const key = `${mac}@${vtep}`;
    const via = d.driver === 'netconf' ? 'NETCONF' : 'XMPP';
    if (!desired.length && !present) {
      n.prove(`${id} carries no MAC entries for VNI ${vni} (it floods and learns): none there, as nvo wants`, macsOf((await c.devices.read(d)).config, vni).length === 0);
      continue;
    }
    if (!desired.length) {
      n.say(`${id}: nvo programs no MAC entries there for VNI ${vni} (it floods and learns)`);
      continue;
    }
    n.prove(`nvo wants ${key} ${present ? 'on' : 'off'} ${id}`, desired.includes(key) === present);
    const ok = await until(async () => macsOf((await c.devices.read(d)).config, vni).includes(key) === present, 15_000, 300);
    n.prove(`${id} (read over ${via}) ${present ? 'has' : 'no longer has'} ${mac} → ${vtep}`, ok);
  }
  const holders = new Set(vms(c).filter((v) => v.cid === cid).map((v) => c.at.get(v.vm)!));
  for (const hv of holders) {
    if (vtepOf(c, hv) === vtep) continue; // the MAC's own host learns it on the VM's port
    const ok = await until(async () => {
      const st = await agentStateOf(c.stateDir, hv);
      const inTable = st.tables.some((t) => t.cid === cid && t.rows.some((r) => r.mac === mac && r.vtep === vtep));
      const inKernel = (st.dataPlane as DeviceConfig).macs.some((m) => m.mac === mac && m.vtep === vtep);
      return inTable === present && inKernel === present;
    }, 15_000, 200);
    n.prove(`${hv}'s agent ${present ? 'has' : 'no longer has'} ${mac} → ${vtep} in its table and its kernel fdb`, ok);
  }
}

export async function uc5Info(c: DemoContext): Promise<void> {
  const { n } = c;
  const vm = vms(c).find((v) => c.lab.topology.inv.tenants.find((t) => t.cid === v.cid)?.multicast) ?? vms(c)[0]!;
  const hv = c.at.get(vm.vm)!;
  const vni = (await c.views.alloc.vniOf(vm.cid))!;
  const vtep = vtepOf(c, hv);
  n.say(`${hv} → tenant proxy: INFO {package: mac, add: [${EXTRA_MAC}]} in ${vm.vm}'s session (a second VM behind the same tunnel)`);
  const add = await ctl(c.stateDir, hv, { op: 'info', mac: vm.mac, add: [EXTRA_MAC] });
  n.prove('INFO add answered 200', add.status === 200, `${add.status} ${add.reason ?? ''}`);
  await everyMember(c, vm.cid, vni, EXTRA_MAC, vtep, true);
  const view = await macView(c.views, vni);
  n.say(`nvo show macs --vni ${vni}:`);
  for (const m of view?.members ?? []) n.say(`  ${m.member.padEnd(5)} ${m.kind} ${m.state.padEnd(12)} ${m.entries.map((e) => `${e.mac}@${e.vtep}${e.state === 'applied' || e.state === 'remote' ? '' : `(${e.state})`}`).join(' ')}`);
  n.say(`${hv} → tenant proxy: INFO {package: mac, delete: [${EXTRA_MAC}]}`);
  const del = await ctl(c.stateDir, hv, { op: 'info', mac: vm.mac, delete: [EXTRA_MAC] });
  n.prove('INFO delete answered 200', del.status === 200, `${del.status} ${del.reason ?? ''}`);
  await everyMember(c, vm.cid, vni, EXTRA_MAC, vtep, false);
  n.fact('mac', EXTRA_MAC);
}
