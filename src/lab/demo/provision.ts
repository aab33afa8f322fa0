// The demo's opening: the lab back at its starting point (no sessions, every VM linked to its own
// hypervisor only), then use cases 1-3 — tenants, network resources, NVE registration — shown from
// the store and the proxies' views, and each aNVE reached through its own protocol.
import { nveRows } from '../../proxy/views/tenant-view.ts';
import { linksIn, vms, type DemoContext } from './context.ts';
import { agentStateOf, ctl, until } from './observe.ts';
import { vmPortName } from '../network.ts';

export async function reset(c: DemoContext): Promise<void> {
  const { lab, n } = c;
  const hvs = lab.topology.hypervisors.map((h) => h.id);
  let byes = 0;
  for (const hv of hvs) {
    for (const s of (await agentStateOf(c.stateDir, hv)).sessions.filter((x) => !x.pending)) {
      const r = await ctl(c.stateDir, hv, { op: 'bye', mac: s.mac, callId: s.callId });
      if (r.status !== 200 && r.status !== 481) throw new Error(`BYE ${s.mac} at ${hv}: ${r.status} ${r.reason}`);
      byes++;
    }
  }
  let relinked = 0;
  for (const vm of vms(c)) {
    const home = vm.hypervisor;
    if (!linksIn(lab.netns(home)).includes(vmPortName(vm.vm))) {
      await lab.linkVm(vm.vm, home);
      relinked++;
    }
    for (const hv of hvs) {
      if (hv !== home && linksIn(lab.netns(hv)).includes(vmPortName(vm.vm))) {
        await lab.unlinkVm(vm.vm, hv);
        relinked++;
      }
    }
    c.at.set(vm.vm, home);
  }
  n.say(byes || relinked ? `left from an earlier run: ${byes} session(s) ended, ${relinked} VM link(s) put back` : 'the lab is at its starting point: no sessions, every VM linked to its own hypervisor');
  for (const hv of hvs) {
    const st = await agentStateOf(c.stateDir, hv);
    n.prove(`${hv}'s agent holds no session and its data plane no VNI`, st.sessions.length === 0 && (st.dataPlane as { vnis: unknown[] }).vnis.length === 0, `${st.sessions.length} sessions`);
  }
}

export async function uc1Tenants(c: DemoContext): Promise<void> {
  const { n } = c;
  n.say('the server admin provisioned the tenants (nvo apply -f lab/inventory.yaml; nvo tenant list):');
  const tenants = await c.store.list('tenant');
  for (const t of tenants) n.say(`  ${t.cid.padEnd(8)} ${t.name.padEnd(18)} subnet ${t.subnet} gateway ${t.gateway} multicast ${t.multicast ? 'yes' : 'no'} encapsulations ${t.encapsulations.join(' > ')}`);
  n.fact('tenants', tenants.map((t) => t.cid));
  for (const cid of new Set(vms(c).map((v) => v.cid))) n.prove(`tenant ${cid} (of the lab's VMs) is provisioned`, tenants.some((t) => t.cid === cid));
  n.prove('a tenant asks for high-bandwidth multicast', tenants.some((t) => t.multicast));
}

export async function uc2Resources(c: DemoContext): Promise<void> {
  const { n, lab } = c;
  const [devices, pods, mappings] = await Promise.all([c.store.list('device'), c.store.list('pod'), c.store.list('vni')]);
  n.say('the network admin provisioned gateways, ToRs, pods and CID mappings (nvo device|pod|vni list):');
  for (const d of devices) {
    const how = d.driver === 'netconf' ? `NETCONF ${d.management?.host}:${d.management?.port} (${d.dialect})` : `XMPP ${d.jid}`;
    n.say(`  ${d.id.padEnd(5)} ${d.role.padEnd(7)} VTEP ${String(d.vtep).padEnd(13)} ${how}${d.ngMvpn ? ` NG-MVPN groups ${(d.mcastGroups ?? []).join(',')}` : ''} VLANs ${(d.vlanRanges ?? []).join(',')}`);
  }
  for (const p of pods) n.say(`  pod ${p.id}: ToRs ${p.tors.join('+')}, WAN gateway ${p.wanGateway}, ToR gateway ${p.torGateway}, VLANs ${p.vlanRanges.join(',')}`);
  for (const m of mappings) n.say(`  CID ${m.cid} → VNI ${m.vni ?? '(from the pool)'}, VRF ${m.vrf?.name ?? '-'} RD ${m.vrf?.rd ?? '-'}`);
  n.fact('devices', devices.map((d) => d.id));
  n.fact('pods', pods.map((p) => p.id));
  const ports = new Set(lab.netconf.instances.map((i) => i.port));
  for (const id of lab.topology.devices) {
    const d = devices.find((x) => x.id === id);
    n.prove(`${id} is in the inventory${d?.driver === 'netconf' ? ' with the lab netconfd port' : ''}`, Boolean(d) && (d!.driver !== 'netconf' || ports.has(d!.management!.port)), d?.management ? `port ${d.management.port}` : undefined);
  }
  for (const h of lab.topology.hypervisors) n.prove(`pod ${h.pod} of ${h.id} exists`, pods.some((p) => p.id === h.pod));
  n.prove('an NG-MVPN gateway has a multicast group pool', devices.some((d) => d.ngMvpn && (d.mcastGroups ?? []).length > 0));
  for (const cid of new Set(vms(c).map((v) => v.cid))) n.prove(`CID ${cid} has a VNI/VRF mapping`, mappings.some((m) => m.cid === cid));
}

export async function uc3Registration(c: DemoContext): Promise<void> {
  const { n, lab } = c;
  // aNVEs are reached by the network proxy through their own protocol; show that each answers now.
  for (const id of lab.topology.devices) {
    const d = (await c.store.get('device', id))!;
    const t0 = Date.now();
    const got = await c.devices.read(d);
    n.say(`${id}: reached over ${d.driver === 'netconf' ? 'NETCONF (SSH, hello, get-config running)' : 'XMPP (IQ get state to the gateway agent)'} in ${Date.now() - t0} ms — holds ${got.config.vnis.length} VNI(s)`);
  }
  // The hNVE agents REGISTER and the XMPP gateway agents announce themselves on their own, right after
  // `lab up`: the network proxy's XMPP login (eager, but after it listens) may come a moment after the
  // demo starts, and an agent whose announcement found no controller tries again. Wait for both;
  // 40 s covers an announcement refused once (the agent then waits 30 s).
  const xmppIds = new Set(lab.topology.devices.filter((id) => lab.xmpp.agents[id]));
  const rows = await until(async () => {
    const r = await nveRows(c.views);
    return r.filter((x) => x.kind === 'hNVE' || xmppIds.has(x.id)).every((x) => x.registered) ? r : null;
  }, 40_000);
  const all = rows ?? (await nveRows(c.views));
  n.say('nvo show nves (the tenant proxy\'s registrar and the network proxy\'s reach):');
  for (const r of all) n.say(`  ${r.id.padEnd(5)} ${r.kind} ${(r.pod ?? r.role ?? '').padEnd(7)} VTEP ${r.vtep.padEnd(13)} registered ${r.registered ? 'yes' : 'no '} ${r.via ?? ''}${r.expiresAt ? ` until ${r.expiresAt.slice(11, 19)}` : ''}`);
  for (const h of lab.topology.hypervisors) {
    const r = all.find((x) => x.id === h.id);
    n.prove(`hNVE ${h.id} is REGISTERed with the tenant proxy`, Boolean(r?.registered), r?.via ?? 'not registered');
  }
  const xmppAgents = all.filter((r) => r.kind === 'aNVE' && lab.topology.devices.includes(r.id) && lab.xmpp.agents[r.id]);
  for (const r of xmppAgents) n.prove(`aNVE ${r.id} (XMPP gateway agent) announced itself`, r.registered);
  n.fact('nves', all.map((r) => ({ id: r.id, kind: r.kind, registered: r.registered })));
}
