// The overview (issue 9, item 6) over a real messaging stack: what `nvo show` and /overview/* say after
// REGISTER and INVITEs — registrations with the process that holds them, sessions, VNIs with their
// members, devices, and per member of a VNI its MAC entries: a lagging device shown as pending, an hNVE
// that missed table revisions as behind. aNVEs count as registered once reached: by a sync (in-memory
// here), or, for an XMPP gateway agent, when it announces itself to the driver through a real Prosody.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayAgent } from '../../src/agent/gateway/gateway-agent.ts';
import { HnveAgent } from '../../src/agent/hnve/hnve-agent.ts';
import type { MessagingClient } from '../../src/agent/hnve/messaging-client.ts';
import { buildAdminApp } from '../../src/api/server.ts';
import { hnveRoutes } from '../../src/api/routes/hnves.ts';
import { overviewRoutes } from '../../src/api/routes/overview.ts';
import { RecorderDataPlane } from '../../src/dataplane/recorder.ts';
import { XmppDriver } from '../../src/drivers/xmpp/xmpp-driver.ts';
import { emptyConfig } from '../../src/model/device-config.ts';
import { redisAckSource, type AckSource } from '../../src/proxy/views/ack-source.ts';
import { Membership } from '../../src/proxy/network/membership.ts';
import { macView } from '../../src/proxy/views/mac-view.ts';
import { deviceRows, vniRows } from '../../src/proxy/views/network-view.ts';
import { ViewSources } from '../../src/proxy/views/sources.ts';
import { nveRows, sessionRows, tenantRows } from '../../src/proxy/views/tenant-view.ts';
import { xmppLab, type XmppLab } from '../drivers/xmpp/lab.ts';
import { SECRETS, startStack, type Stack } from './harness.ts';
import { ProxyProcesses } from './multi-process-helpers.ts';

const M1 = '02:00:00:00:0e:01';
const M2 = '02:00:00:00:0e:02';
const G1 = '02:00:00:00:0e:03';
const LAGGING = '02:00:00:00:0e:09';

let s: Stack;
let h1: MessagingClient;
let views: ViewSources;
let acme: { vni: number; vlan: number };
const acks: AckSource = {
  tableRevision: async (cid) => (cid === 'acme' ? 7 : null),
  acknowledged: async (cid) => new Map(cid === 'acme' ? [['h1', 7]] : []),
};

beforeAll(async () => {
  s = await startStack();
  h1 = await s.agent('h1');
  const h2 = await s.agent('h2');
  expect((await h1.register(600)).status).toBe(200);
  expect((await h2.register(600)).status).toBe(200);
  const a = await h1.invite({ mac: M1, ip: '192.0.2.10' }, 'acme');
  expect(a.status).toBe(200);
  expect((await h2.invite({ mac: M2 }, 'acme')).status).toBe(200);
  expect((await h2.invite({ mac: G1 }, 'globex')).status).toBe(200);
  acme = { vni: a.body.vni as number, vlan: a.body.vlan as number };
  views = new ViewSources(s.t.redis, s.t.k, s.inventory, acks);
});

afterAll(async () => {
  await s?.close();
  await s?.inventory.close();
});

describe('the tenant proxy view', () => {
  it('lists hNVEs with registration, the process holding them and sessions; aNVEs reached by a sync are registered', async () => {
    const rows = await nveRows(views);
    const by = new Map(rows.map((r) => [r.id, r]));
    expect(by.get('h1')).toMatchObject({ kind: 'hNVE', pod: 'pod1', vtep: '192.0.2.201', registered: true, via: s.tenant.deps.proc, connected: true, sessions: 1 });
    expect(by.get('h2')).toMatchObject({ kind: 'hNVE', registered: true, sessions: 2 });
    expect(by.get('h3')).toMatchObject({ kind: 'hNVE', registered: false, expiresAt: null, via: null, connected: null, sessions: 0 });
    expect(Date.parse(by.get('h1')!.expiresAt!)).toBeGreaterThan(Date.now());
    for (const d of ['tor1', 'tor2', 'wan1', 'tgw1']) expect(by.get(d)).toMatchObject({ kind: 'aNVE', registered: true, via: 'xmpp/sync' });
    // pod2's ToR was never part of a session: never reached.
    expect(by.get('tor3')).toMatchObject({ kind: 'aNVE', role: 'tor', registered: false, since: null });
    // With a VNI filter: only the NVEs of that VNI.
    expect((await nveRows(views, { tenant: 'globex' })).map((r) => r.id).sort()).toEqual(['h2', 'tgw1', 'tor1', 'tor2', 'wan1']);
  });

  it('lists sessions and tenants, filtered by VNI or tenant', async () => {
    const acmeSessions = await sessionRows(views, { vni: acme.vni });
    expect(acmeSessions.map((r) => [r.nve, r.mac, r.ip, r.vni, r.vlan, r.state])).toEqual(
      expect.arrayContaining([
        ['h1', M1, '192.0.2.10', acme.vni, acme.vlan, 'established'],
        ['h2', M2, null, acme.vni, acme.vlan, 'established'],
      ]),
    );
    expect(acmeSessions).toHaveLength(2);
    expect((await sessionRows(views, { tenant: 'globex' })).map((r) => r.mac)).toEqual([G1]);
    expect(await sessionRows(views, { vni: 999_999 })).toEqual([]);
    const tenants = await tenantRows(views);
    expect(tenants.find((t) => t.cid === 'acme')).toMatchObject({ vni: acme.vni, hnves: ['h1', 'h2'], sessions: 2 });
    expect(tenants.find((t) => t.cid === 'globex')!.vms).toEqual([expect.objectContaining({ mac: G1, nve: 'h2', state: 'established' })]);
  });
});

describe('the network proxy view', () => {
  it('shows each VNI with its VLAN per pod, group, members and MACs, and each device desired vs applied', async () => {
    const [v] = await vniRows(views, { tenant: 'acme' });
    expect(v).toEqual({
      vni: acme.vni,
      cid: 'acme',
      vrf: 'acme',
      encapsulation: 'vxlan',
      group: expect.stringMatching(/^232\.1\.1\.\d+$/),
      pods: [{ pod: 'pod1', vlan: acme.vlan, users: 2 }],
      hnves: [
        { nve: 'h1', vtep: '192.0.2.201', macs: 1 },
        { nve: 'h2', vtep: '192.0.2.202', macs: 1 },
      ],
      anves: ['tgw1', 'tor1', 'tor2', 'wan1'],
      macs: 2,
    });
    const wan = (await deviceRows(views, { vni: acme.vni })).find((d) => d.device === 'wan1')!;
    expect(wan).toMatchObject({ role: 'wan-gw', registered: true, syncState: 'in-sync' });
    expect(wan.desired).toEqual(wan.applied);
    expect(wan.desired.vnis).toEqual([acme.vni]);
    expect(wan.desired.macs.map((m) => m.mac).sort()).toEqual([M1, M2]);
    expect(wan.desired.tunnels.map((t) => t.vtep).sort()).toEqual(['192.0.2.201', '192.0.2.202']);
    // Unfiltered, wan1 carries both tenants.
    const all = (await deviceRows(views)).find((d) => d.device === 'wan1')!;
    expect(all.desired.vnis).toHaveLength(2);
  });

  it('nvo show macs: per member its entries — a lagging device shows pending, hNVEs the acknowledged revision or ?', async () => {
    // tgw1 is told of a MAC it has not applied yet (as while its sync job waits).
    await s.state.setContribution('tgw1', 'test:lagging', { ...emptyConfig(), macs: [{ vni: acme.vni, mac: LAGGING, vtep: '192.0.2.250' }] });
    const v = (await macView(views, acme.vni))!;
    expect(v.table.map((t) => t.mac)).toEqual([M1, M2]);
    const m = new Map(v.members.map((x) => [x.member, x]));
    expect([...m.keys()]).toEqual(['h1', 'h2', 'tgw1', 'tor1', 'tor2', 'wan1']);
    expect(m.get('tgw1')!.entries).toEqual([
      { mac: M1, vtep: '192.0.2.201', state: 'applied' },
      { mac: M2, vtep: '192.0.2.202', state: 'applied' },
      { mac: LAGGING, vtep: '192.0.2.250', state: 'pending' },
    ]);
    expect(m.get('tgw1')!.state).toBe('pending');
    expect(m.get('tgw1')!.appliedRevision).toBeLessThan(m.get('tgw1')!.desiredRevision!);
    expect(m.get('wan1')!.entries.every((e) => e.state === 'applied')).toBe(true);
    // ToRs flood to the hNVEs but hold no MAC entries (desired.ts): members without entries.
    expect(m.get('tor1')!.entries).toEqual([]);
    expect(m.get('h1')).toMatchObject({ kind: 'hNVE', acknowledged: 7, tableRevision: 7, state: 'acknowledged' });
    expect(m.get('h1')!.entries).toEqual([
      { mac: M1, vtep: '192.0.2.201', state: 'local' },
      { mac: M2, vtep: '192.0.2.202', state: 'remote' },
    ]);
    expect(m.get('h2')).toMatchObject({ acknowledged: null, state: '?' });
    // The figures the real source reads are the membership's own (issue 3's numbered MAC table).
    const real = redisAckSource(s.t.redis, s.t.k);
    expect(await real.tableRevision('acme')).toBe(await new Membership(s.t.redis, s.t.k).revision('acme'));
    expect(await real.tableRevision('acme')).toBeGreaterThanOrEqual(2);
    expect(await real.tableRevision('no-such-cid')).toBeNull();
    expect(await macView(views, 4_000_000)).toBeNull();

    // The same through the CLI, from another process.
    const procs = new ProxyProcesses(s.t.prefix);
    try {
      const r = await procs.run(['show', 'macs', '--vni', String(acme.vni)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^VNI ${acme.vni} \\(acme\\): 2 MAC\\(s\\) in the table`));
      expect(r.stdout).toMatch(/^tgw1 +aNVE +203\.0\.113\.2 +3 +1 +0 +\d+\/\d+ +pending$/m);
      expect(r.stdout).toMatch(new RegExp(`^tgw1 +${LAGGING} +192\\.0\\.2\\.250 +pending$`, 'm'));
      const j = await procs.run(['show', 'macs', '--vni', String(acme.vni), '--json']);
      expect((JSON.parse(j.stdout) as { members: { member: string }[] }).members.map((x) => x.member)).toEqual([...m.keys()]);
      const bad = await procs.run(['show', 'macs', '--vni', 'abc']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--vni: 'abc' is not a VNI/);
    } finally {
      await procs.stopAll();
      await s.state.setContribution('tgw1', 'test:lagging', null);
    }
  });
});

describe('the admin API', () => {
  it('serves the views read-only and hNVE provisioning with the token, never a secret', async () => {
    const app = await buildAdminApp({ store: s.inventory, token: 'admin-token-for-overview', extraRoutes: [overviewRoutes(views), hnveRoutes(views.nves)] });
    try {
      const nves = await app.inject({ method: 'GET', url: '/overview/nves?tenant=acme' });
      expect(nves.statusCode).toBe(200);
      expect((nves.json() as { items: { id: string }[] }).items.map((r) => r.id).sort()).toEqual(['h1', 'h2', 'tgw1', 'tor1', 'tor2', 'wan1']);
      const macs = await app.inject({ method: 'GET', url: `/overview/macs?vni=${acme.vni}` });
      expect(macs.json()).toEqual(JSON.parse(JSON.stringify(await macView(views, acme.vni))));
      const noVni = await app.inject({ method: 'GET', url: '/overview/macs' });
      expect(noVni.statusCode).toBe(400);
      expect(noVni.json()).toMatchObject({ error: { code: 'invalid-input', issues: [{ field: 'vni', reason: expect.stringContaining('required') }] } });
      expect((await app.inject({ method: 'GET', url: '/overview/sessions?vni=0' })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: '/overview/devices/nope' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/overview/devices/wan1' })).json()).toMatchObject({ device: 'wan1', syncState: 'in-sync' });

      const h9 = { id: 'h9', pod: 'pod2', vtep: '198.51.100.209', secret: 'the-secret-of-h9-xyz' };
      expect((await app.inject({ method: 'POST', url: '/hnves', payload: h9 })).statusCode).toBe(401);
      const auth = { authorization: 'Bearer admin-token-for-overview' };
      const created = await app.inject({ method: 'POST', url: '/hnves', payload: h9, headers: auth });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toEqual({ id: 'h9', pod: 'pod2', vtep: '198.51.100.209', encapsulations: ['vxlan'] });
      const badPod = await app.inject({ method: 'PUT', url: '/hnves/h9', payload: { ...h9, pod: 'pod7' }, headers: auth });
      expect(badPod.json()).toMatchObject({ error: { issues: [{ field: 'pod', reason: "no pod 'pod7'" }] } });
      const listed = await app.inject({ method: 'GET', url: '/hnves' });
      expect(listed.body).not.toMatch(/secret/);
      expect((listed.json() as { items: unknown[] }).items).toHaveLength(4);
      const busy = await app.inject({ method: 'DELETE', url: '/hnves/h1', headers: auth });
      expect(busy.statusCode).toBe(409);
      expect((await app.inject({ method: 'DELETE', url: '/hnves/h9', headers: auth })).statusCode).toBe(204);
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/overview/macs', '/overview/devices/{id}', '/hnves/{id}']));
    } finally {
      await app.close();
    }
  });
});

describe('aNVE registration by an XMPP gateway agent', () => {
  let lab: XmppLab;
  let driver: XmppDriver;
  let agent: GatewayAgent;

  afterAll(async () => {
    await agent?.stop();
    await driver?.stop();
    await lab?.destroy();
  });

  it('tor3 counts as registered once its agent connects and announces itself', async () => {
    lab = await xmppLab(['nvo', 'tor3']);
    driver = new XmppDriver({
      service: lab.prosody.service,
      jid: lab.jid('nvo'),
      password: lab.passwords.nvo!,
      store: s.state,
      deviceByJid: (bare) => (bare === lab.jid('tor3') ? { id: 'tor3', jid: lab.jid('tor3') } : undefined),
      timeoutMs: 10_000,
    });
    await driver.start();
    expect((await nveRows(views)).find((r) => r.id === 'tor3')!.registered).toBe(false);
    agent = new GatewayAgent({ service: lab.prosody.service, jid: lab.jid('tor3'), password: lab.passwords.tor3!, controller: lab.jid('nvo'), dataPlane: new RecorderDataPlane() });
    const announced = once(driver, 'announce');
    await agent.start();
    await announced;
    await expect.poll(async () => (await nveRows(views)).find((r) => r.id === 'tor3'), { timeout: 10_000 }).toMatchObject({ registered: true, via: 'xmpp/xmpp-announce' });
  });
});

// A real agent acknowledges each table revision it applies (INFO ack); one that is away while the
// table moves on is `behind` until it comes back and catches up.
describe('an hNVE behind its VNI\'s MAC table', () => {
  const M3 = '02:00:00:00:0e:0a';
  const M4 = '02:00:00:00:0e:0b';
  const h3Of = () => new HnveAgent({ nve: 'h3', secret: SECRETS.h3, urls: [s.url], proxy: 'tp1', dataPlane: new RecorderDataPlane(undefined, { references: true }) });
  const h3Row = async (real: ViewSources) => (await macView(real, acme.vni))!.members.find((m) => m.member === 'h3');

  it('nvo show macs and /overview/macs show it behind, with both revisions, until it catches up', async () => {
    const real = new ViewSources(s.t.redis, s.t.k, s.inventory);
    let h3 = h3Of();
    const app = await buildAdminApp({ store: s.inventory, token: 'admin-token-for-overview', extraRoutes: [overviewRoutes(real)] });
    const procs = new ProxyProcesses(s.t.prefix);
    try {
      await h3.start();
      expect((await h3.invite({ mac: M3, cid: 'acme' })).status).toBe(200);
      await expect.poll(async () => (await h3Row(real))?.state, { timeout: 10_000 }).toBe('acknowledged');
      const caughtUp = (await h3Row(real))!;
      expect(caughtUp.acknowledged).toBe(caughtUp.tableRevision);

      // h3 goes away (its sessions stay for the grace period); the table moves on without it.
      await h3.stop();
      await expect.poll(() => s.tenant.server.connectionOf('h3'), { timeout: 10_000 }).toBeUndefined();
      expect((await h1.invite({ mac: M4 }, 'acme')).status).toBe(200);
      const row = (await h3Row(real))!;
      expect(row).toMatchObject({ kind: 'hNVE', vtep: '198.51.100.203', state: 'behind', acknowledged: caughtUp.tableRevision });
      expect(row.tableRevision).toBeGreaterThan(row.acknowledged!);
      expect(row.entries).toContainEqual({ mac: M3, vtep: '198.51.100.203', state: 'local' });
      expect(row.entries).toContainEqual({ mac: M4, vtep: '192.0.2.201', state: 'remote' });

      const api = await app.inject({ method: 'GET', url: `/overview/macs?vni=${acme.vni}` });
      expect((api.json() as { members: { member: string; state: string }[] }).members.find((m) => m.member === 'h3')).toMatchObject({ state: 'behind', acknowledged: row.acknowledged, tableRevision: row.tableRevision });
      const cli = await procs.run(['show', 'macs', '--vni', String(acme.vni)]);
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(new RegExp(`^h3 +hNVE +198\\.51\\.100\\.203 +${row.entries.length} +- +- +${row.acknowledged}/${row.tableRevision} +behind$`, 'm'));

      // Back: it re-learns the table from the proxy and acknowledges the current revision.
      h3 = h3Of();
      await h3.start();
      await expect.poll(async () => (await h3Row(real))?.state, { timeout: 10_000 }).toBe('acknowledged');
      expect((await h3Row(real))!.acknowledged).toBe(row.tableRevision);
    } finally {
      await h3.stop();
      await procs.stopAll();
      await app.close();
    }
  }, 60_000);
});
