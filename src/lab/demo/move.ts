// Use case 6 and the end: the admin REFERs every session of one hNVE to another host while a ping
// stream runs (the VMs are linked to the new host before the move and unlinked from the old one
// after it: make-before-break), the demo counts what the stream lost; then BYE of every VM and the
// MACs gone from every member.
import { randomUUID } from 'node:crypto';
import type { DeviceConfig } from '../../model/device-config.ts';
import { referKeys } from '../../proxy/tenant/refer.ts';
import type { PingResult } from '../lab-handle.ts';
import { vmPortName } from '../network.ts';
import { ipOf, vms, type DemoContext } from './context.ts';
import { agentStateOf, ctl, sleep, until, untilSynced } from './observe.ts';
import { devicesMatchDesired } from './vms.ts';

/** The admin's REFER (what `nvo move` sends), with each sipfrag progress line narrated. */
async function adminRefer(c: DemoContext, source: string, to: string, onProgress: (status: number) => void): Promise<{ status: number; reason: string }> {
  const rk = referKeys(c.store.k);
  const referId = randomUUID();
  const sub = c.store.redis.duplicate();
  try {
    const final = new Promise<{ status: number; reason: string }>((resolve) => {
      sub.on('message', (_c: string, raw: string) => {
        const m = JSON.parse(raw) as { status: number; reason: string; final: boolean; sipfrag: string };
        c.n.say(`   ← NOTIFY sipfrag: ${m.sipfrag}`);
        onProgress(m.status);
        if (m.final) resolve(m);
      });
    });
    await sub.subscribe(rk.progress(referId));
    const heard = await c.store.redis.publish(rk.requests, JSON.stringify({ referId, source, to }));
    if (heard === 0) return { status: 503, reason: 'no tenant proxy is running on this Redis' };
    return await Promise.race([final, sleep(60_000).then(() => ({ status: 504, reason: 'no final NOTIFY within 60 s' }))]);
  } finally {
    sub.disconnect();
  }
}

export async function uc6Refer(c: DemoContext): Promise<PingResult> {
  const { n, lab } = c;
  const hvs = lab.topology.hypervisors;
  // Move the hypervisor with the most VMs to another in its pod (a live migration of the host).
  const from = [...hvs].sort((a, b) => b.vms.length - a.vms.length)[0]!;
  const to = hvs.find((h) => h.id !== from.id && h.pod === from.pod) ?? hvs.find((h) => h.id !== from.id)!;
  const moving = vms(c).filter((v) => c.at.get(v.vm) === from.id);
  const watcher = vms(c).find((v) => v.cid === moving[0]!.cid && c.at.get(v.vm) !== from.id && c.at.get(v.vm) !== to.id) ?? vms(c).find((v) => c.at.get(v.vm) !== from.id)!;
  const target = moving.find((v) => v.cid === watcher.cid) ?? moving[0]!;

  n.say(`ping stream ${watcher.vm} → ${target.vm} (${ipOf(target.address)}) every 50 ms while ${from.id}'s ${moving.length} VM(s) move to ${to.id}`);
  const stream = lab.pingStream(watcher.vm, ipOf(target.address), 0.05);
  await sleep(1000);
  for (const v of moving) {
    await lab.linkVm(v.vm, to.id);
    const r = await ctl(c.stateDir, to.id, { op: 'port', mac: v.mac, port: vmPortName(v.vm) });
    if (r.status !== 200) throw new Error(`port of ${v.vm} at ${to.id}: ${r.status} ${r.reason}`);
  }
  n.say(`make: ${moving.map((v) => v.vm).join(', ')} linked to ${to.id} as well (${moving.map((v) => vmPortName(v.vm)).join(', ')}), ${to.id}'s agent told their ports`);
  n.say(`admin → tenant proxy: REFER ${from.id} → ${to.id} (nvo move ${from.id} --to ${to.id})`);
  // A live-migrated VM announces itself from its new host (QEMU sends RARPs when it resumes), so the
  // new host's bridge learns its MAC on the VM's port, not from the tunnel where it was before. The
  // lab's VM is on both hosts during the move: it announces at each step and once more after the break.
  const gateways = new Map((await c.store.list('tenant')).map((t) => [t.cid, t.gateway]));
  const announce = () => {
    for (const v of moving) void lab.ping(v.vm, gateways.get(v.cid)!, { count: 1, timeoutS: 1 }).catch(() => undefined);
  };
  const t0 = Date.now();
  const r = await adminRefer(c, from.id, to.id, (status) => status === 183 && announce());
  n.prove(`REFER ${from.id} → ${to.id} ended 200`, r.status === 200, `${r.status} ${r.reason} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const v of moving) {
    await lab.unlinkVm(v.vm, from.id);
    c.at.set(v.vm, to.id);
  }
  announce();
  n.say(`break: ${moving.map((v) => v.vm).join(', ')} unlinked from ${from.id}, and announced themselves at ${to.id} (one packet each, as a migrated VM does)`);
  await sleep(1000);
  const lost = await stream.stop();
  n.say(`ping stream during the move: ${lost.sent} sent, ${lost.received} received, ${lost.lost} lost`);
  n.fact('refer', { from: from.id, to: to.id, ...lost });
  n.prove('the ping stream kept going through the move', lost.received > 0 && lost.sent > 20, `${lost.received}/${lost.sent}`);
  const after = await lab.ping(watcher.vm, ipOf(target.address), { count: 3, intervalS: 0.2, timeoutS: 1 });
  n.prove(`ping ${watcher.vm} → ${target.vm} at ${to.id} after the move`, after.received > 0, `${after.received}/${after.sent}`);

  const [src, dst] = await Promise.all([agentStateOf(c.stateDir, from.id), agentStateOf(c.stateDir, to.id)]);
  n.prove(`${from.id}'s agent holds no session after the move`, src.sessions.length === 0, `${src.sessions.length} sessions`);
  n.prove(`${to.id}'s agent holds ${moving.map((v) => v.vm).join(', ')}`, moving.every((v) => dst.sessions.some((s) => s.mac === v.mac && !s.pending)));
  const configs = await devicesMatchDesired(c, 'after the move');
  for (const [id, cfg] of configs) {
    const stale = cfg.macs.filter((m) => m.vtep === from.vtep);
    n.prove(`${id} sends ${moving.map((v) => v.vm).join(', ')} to ${to.id} (${to.vtep}), nothing to ${from.id}`, stale.length === 0 && moving.every((v) => !cfg.macs.some((m) => m.mac === v.mac) || cfg.macs.some((m) => m.mac === v.mac && m.vtep === to.vtep)));
  }
  return lost;
}

export async function byeAll(c: DemoContext): Promise<void> {
  const { n, lab } = c;
  const vnis = new Map<string, number>();
  for (const cid of new Set(vms(c).map((v) => v.cid))) vnis.set(cid, (await c.views.alloc.vniOf(cid))!);
  for (const v of vms(c)) {
    const hv = c.at.get(v.vm)!;
    n.say(`${hv} → tenant proxy: BYE (${v.vm}, ${v.mac})`);
    const r = await ctl(c.stateDir, hv, { op: 'bye', mac: v.mac });
    n.prove(`BYE of ${v.vm} answered 200`, r.status === 200, `${r.status} ${r.reason ?? ''}`);
  }
  await untilSynced(c.views);
  for (const id of lab.topology.devices) {
    const d = (await c.store.get('device', id))!;
    const cfg = await until(async () => {
      const got = (await c.devices.read(d)).config;
      return got.macs.length === 0 && got.vnis.length === 0 ? got : null;
    }, 15_000, 300);
    n.prove(`${id} (read from the device) has no MAC entry and no VNI left`, Boolean(cfg), cfg ? undefined : 'entries remain');
  }
  for (const h of lab.topology.hypervisors) {
    const st = await agentStateOf(c.stateDir, h.id);
    const dp = st.dataPlane as DeviceConfig;
    n.prove(`${h.id}'s agent: no session, no table, nothing in its kernel`, st.sessions.length === 0 && st.tables.length === 0 && dp.vnis.length === 0 && dp.macs.length === 0, `${st.sessions.length} sessions, ${dp.vnis.length} VNIs`);
  }
  for (const [cid, vni] of vnis) {
    const left = (await c.views.members.members(cid)).length;
    n.prove(`VNI ${vni} (${cid}) has no MAC left in the network proxy's table`, left === 0, `${left} left`);
  }
  // Put the VMs back on their own hypervisors: the next demo starts where this one did.
  for (const v of vms(c)) {
    if (c.at.get(v.vm) === v.hypervisor) continue;
    await lab.linkVm(v.vm, v.hypervisor);
    await lab.unlinkVm(v.vm, c.at.get(v.vm)!);
    c.at.set(v.vm, v.hypervisor);
  }
  n.say('VMs linked back to their own hypervisors');
}
