// The hNVE agent (the "lightweight messaging client" hypervisors run): REGISTER with the tenant
// proxy, INVITE its VMs, INFO their extra MACs, BYE them, REFER them elsewhere; keep the MAC tables
// of its VNIs from the numbered NOTIFYs; and keep its data plane equal to what those say.
// Composition, in order: connection (next URL when one is down) → REGISTER → INFO state (the proxy's
// word on its sessions and tables replaces whatever it had) → program the data plane → ready.
// Everything that changes the tables or the data plane runs one at a time (`serial`).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { NvoError } from '../../errors.ts';
import { emptyConfig, isEmptyChange, type DeviceConfig } from '../../model/device-config.ts';
import type { HnveDataPlane } from '../../dataplane/hnve.ts';
import type { FinalAnswer, Request, Response } from '../../proxy/protocol/messages.ts';
import { ProtocolClient } from '../../proxy/transport/ws-client.ts';
import { forwarding, quickDiff, type AgentSession } from './forwarding.ts';
import { checkEntries, entrySchema, fullTable, macTableNotify, parsePush, VniTable } from './vni-table.ts';

export interface HnveAgentOptions {
  nve: string;
  secret: string;
  /** Tenant proxies in order of preference; the next is tried when one is down. */
  urls: string[];
  proxy?: string;
  /** The data plane, or how to make it once REGISTER has told the agent its VTEP. */
  dataPlane: HnveDataPlane | ((vtep: string) => HnveDataPlane);
  /** VM MAC → its port on this host (attached to the VNI's segment once the VM has a session here). */
  ports?: Map<string, string>;
  expires?: number;
  timeoutMs?: number;
  reconnectMs?: number;
  /** How long an out-of-order entry may wait for the missing one before the agent asks for the state. */
  gapWaitMs?: number;
}

export interface VmSpec {
  mac: string;
  cid: string;
  ip?: string;
  port?: string;
}

const sessionSchema = z.looseObject({ callId: z.string().min(1), cid: z.string().min(1), mac: z.string(), macs: z.array(z.string()).default([]), ip: z.string().optional(), answer: z.record(z.string(), z.unknown()), cseq: z.number().int().nonnegative().optional() });
const stateVni = z.union([
  z.looseObject({ cid: z.string(), vni: z.number().nullable(), mode: z.literal('full'), revision: z.number(), table: z.array(z.unknown()), floods: z.array(z.unknown()) }),
  z.looseObject({ cid: z.string(), vni: z.number().nullable(), mode: z.literal('delta'), base: z.number(), revision: z.number(), entries: z.array(entrySchema) }),
]);
const referPrepare = z.looseObject({ event: z.literal('refer-prepare'), referId: z.string(), sessions: z.array(sessionSchema), vnis: z.array(stateVni) });

export class HnveAgent extends EventEmitter {
  readonly sessions = new Map<string, AgentSession>();
  readonly tables = new Map<string, VniTable>();
  private readonly ports: Map<string, string>;
  private readonly cseqs = new Map<string, number>();
  private readonly regCallId = randomUUID();
  private client: ProtocolClient | null = null;
  private urlIndex = 0;
  private stopped = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Per session, the INFO in flight: the next waits for its answer. */
  private readonly infos = new Map<string, Promise<unknown>>();
  private gapTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private programmed: DeviceConfig | null = null;
  vtep = '';

  constructor(readonly opts: HnveAgentOptions) {
    super();
    this.ports = opts.ports ?? new Map();
  }

  private dp: HnveDataPlane | null = null;

  /** The data plane (made on first use from the VTEP REGISTER named, when a factory was given). */
  plane(): HnveDataPlane {
    if (!this.dp) {
      const o = this.opts.dataPlane;
      if (typeof o !== 'function') this.dp = o;
      else if (!this.vtep) throw new NvoError('unavailable', 'the data plane is made once REGISTER has named this hNVE\'s VTEP');
      else this.dp = o(this.vtep);
    }
    return this.dp;
  }

  get connected(): boolean {
    return this.client?.isOpen ?? false;
  }

  /** Connects (trying each URL in turn), registers, re-learns its state and programs the data plane. */
  async start(): Promise<void> {
    this.stopped = false;
    for (let tries = 0; ; tries++) {
      const url = this.opts.urls[this.urlIndex % this.opts.urls.length]!;
      try {
        await this.connect(url);
        return;
      } catch (e) {
        this.emit('connect-failed', { url, error: (e as Error).message });
        this.urlIndex++;
        if (this.stopped) return;
        if (tries + 1 >= this.opts.urls.length) throw new NvoError('unavailable', `no tenant proxy answered (${this.opts.urls.join(', ')}): ${(e as Error).message}`);
      }
    }
  }

  private async connect(url: string): Promise<void> {
    let client: ProtocolClient | null = null;
    client = await ProtocolClient.connect(url, {
      identity: this.opts.nve,
      secret: this.opts.secret,
      peer: this.opts.proxy ?? 'tenant-proxy',
      timeoutMs: this.opts.timeoutMs,
      cseqs: this.cseqs,
      onRequest: (req) => this.onPushed(req),
      onClose: () => client && this.onClosed(client),
    });
    this.client = client;
    try {
      const reg = await this.register();
      if (reg.status !== 200) throw new NvoError('unauthorized', `REGISTER at ${url}: ${reg.status} ${reg.reason}`);
      await this.resync();
    } catch (e) {
      // Not this proxy after all: let go of the connection without its close counting as a drop.
      this.client = null;
      await client.close();
      throw e;
    }
    this.emit('ready', { url });
  }

  private onClosed(client: ProtocolClient): void {
    if (this.client !== client) return;
    this.emit('disconnected');
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.stopped) return;
    // The same proxy first (a blip), then the next ones, again and again until one answers.
    const retry = () => {
      if (this.stopped) return;
      const url = this.opts.urls[this.urlIndex % this.opts.urls.length]!;
      this.connect(url).catch((e: unknown) => {
        this.emit('connect-failed', { url, error: (e as Error).message });
        this.urlIndex++;
        this.retryTimer = setTimeout(retry, this.opts.reconnectMs ?? 500);
      });
    };
    this.retryTimer = setTimeout(retry, this.opts.reconnectMs ?? 500);
  }

  async register(expires = this.opts.expires ?? 300): Promise<Response> {
    const r = await this.request('REGISTER', { expires }, this.regCallId);
    if (r.status === 200) {
      this.vtep = String(r.body.vtep);
      if (this.refreshTimer) clearTimeout(this.refreshTimer);
      const every = Math.max(1, Number(r.body.expires) / 2) * 1000;
      if (expires > 0) this.refreshTimer = setTimeout(() => void this.register(expires).catch(() => undefined), every);
      this.emit('registered', r.body);
    }
    return r;
  }

  private request(method: 'REGISTER' | 'INVITE' | 'INFO' | 'BYE' | 'REFER', body: Record<string, unknown>, callId: string = randomUUID()): Promise<Response> {
    if (!this.client?.isOpen) return Promise.resolve({ tid: null, status: 408, reason: 'Request Timeout: not connected', body: {} });
    return this.client.request(method, body, { callId });
  }

  /** INVITE one VM; on 200 the VM's VNI is configured here and its port put into the segment. */
  async invite(vm: VmSpec, callId: string = randomUUID()): Promise<Response & { callId: string }> {
    if (vm.port) this.ports.set(vm.mac.toLowerCase(), vm.port);
    const r = await this.request('INVITE', { cid: vm.cid, vm: { mac: vm.mac, ...(vm.ip ? { ip: vm.ip } : {}) } }, callId);
    if (r.status === 200) await this.resync();
    return { ...r, callId };
  }

  /** INFO: more (or fewer) MACs for the VM of a session. */
  /** One INFO per session at a time, in call order. The proxy handles requests concurrently, so a
   *  delete sent before the add it cancels was answered could run first, find nothing to delete, and
   *  the add then stayed at every member (info.test.ts). */
  info(callId: string, change: { add?: string[]; delete?: string[] }): Promise<Response> {
    const run = (this.infos.get(callId) ?? Promise.resolve()).then(() => this.infoNow(callId, change));
    const tail = run.catch(() => undefined);
    this.infos.set(callId, tail);
    void tail.then(() => {
      if (this.infos.get(callId) === tail) this.infos.delete(callId);
    });
    return run;
  }

  private async infoNow(callId: string, change: { add?: string[]; delete?: string[] }): Promise<Response> {
    const r = await this.request('INFO', { package: 'mac', add: change.add ?? [], delete: change.delete ?? [] }, callId);
    if (r.status === 200) {
      await this.serial(async () => {
        const s = this.sessions.get(callId);
        if (s) s.macs = (r.body.macs as string[]).filter((m) => m !== s.mac);
      });
    }
    return r;
  }

  async bye(callId: string): Promise<Response> {
    const r = await this.request('BYE', {}, callId);
    if (r.status === 200 || r.status === 481) {
      await this.serial(async () => {
        this.sessions.delete(callId);
        this.dropUnusedTables();
        await this.program();
      });
    }
    return r;
  }

  /** REFER: move every session of this hNVE to another one; progress comes as 'refer' events. */
  refer(to: { to: string } | { vtep: string }): Promise<Response> {
    return this.request('REFER', to);
  }

  /** Asks the proxy for the full state of its sessions and VNIs and takes it as the truth. */
  resync(): Promise<void> {
    return this.serial(async () => {
      const have: Record<string, number> = {};
      for (const t of this.tables.values()) if (t.synced) have[t.cid] = t.revision;
      const r = await this.request('INFO', { package: 'state', vnis: have }, randomUUID());
      if (r.status !== 200) throw new NvoError('unavailable', `INFO state: ${r.status} ${r.reason}`);
      const sessions = z.array(sessionSchema).parse(r.body.sessions);
      for (const [id, s] of this.sessions) if (!s.pending) this.sessions.delete(id);
      for (const s of sessions) {
        const { cseq, ...session } = s;
        this.sessions.set(s.callId, { ...(session as AgentSession), macs: s.macs.filter((m) => m !== s.mac) });
        // After a restart the counters are gone: go on above the CSeq the proxy last saw in the call.
        if (typeof cseq === 'number') this.cseqs.set(s.callId, Math.max(this.cseqs.get(s.callId) ?? 0, cseq));
      }
      for (const v of z.array(stateVni).parse(r.body.vnis)) this.takeVni(v);
      this.dropUnusedTables();
      await this.program(true);
      await this.ack();
    });
  }

  private takeVni(v: z.output<typeof stateVni>): void {
    let t = this.tables.get(v.cid);
    if (!t) this.tables.set(v.cid, (t = new VniTable(v.cid, v.vni ?? 0)));
    if (v.mode === 'full') t.loadFull(parsePush(fullTable, { revision: v.revision, table: v.table, floods: v.floods }, `state of ${v.cid}`));
    else {
      checkEntries(v.entries, v.base, v.revision);
      t.offer(v.entries);
      t.settle();
    }
  }

  private async ack(): Promise<void> {
    const vnis: Record<string, number> = {};
    for (const t of this.tables.values()) if (t.synced) vnis[t.cid] = t.revision;
    if (Object.keys(vnis).length) await this.request('INFO', { package: 'ack', vnis });
  }

  private dropUnusedTables(): void {
    const used = new Set([...this.sessions.values()].map((s) => s.cid));
    for (const cid of this.tables.keys()) if (!used.has(cid)) this.tables.delete(cid);
  }

  /** Brings the data plane to what the sessions and tables say: additions first, removals last. The
   *  data plane is read (reconciled) on every resync; between them the agent trusts what it last
   *  programmed, which spares re-reading a whole VNI for each NOTIFY. */
  private async program(fromDataPlane = false): Promise<void> {
    const dp = this.plane();
    const want = forwarding({ vtep: this.vtep, sessions: [...this.sessions.values()], tables: this.tables, ports: this.ports });
    const current = fromDataPlane || !this.programmed ? await dp.read() : this.programmed;
    this.programmed = null;
    const change = quickDiff(current, want.config);
    // Make before break, on every member: a new tunnel or MAC entry is in place before an old one goes.
    if (!isEmptyChange({ merge: change.merge, remove: emptyConfig() })) await dp.apply({ merge: change.merge, remove: emptyConfig() });
    // A VM's port may vanish under the agent (the VM left this host: its veth was deleted) while the
    // ports are read and changed. That fault must not stop the removals: a VNI no session uses any
    // more would stay in the data plane, and nothing would take it away (the agent trusts what it
    // programmed, and NOTIFYs for a VNI it holds no session in are refused). It is reported after.
    const portFault = await this.programPorts(dp, want.ports).then(
      () => null,
      (e: unknown) => e,
    );
    if (!isEmptyChange({ merge: emptyConfig(), remove: change.remove })) await dp.apply({ merge: emptyConfig(), remove: change.remove });
    if (portFault) throw portFault;
    this.programmed = want.config;
    this.emit('programmed', want);
  }

  /** VM ports into their segments and out of those no session here uses. A port that is gone needs no
   *  detaching: a detach that failed because its port went meanwhile is no fault (the kernel took the
   *  port out of its bridge when it deleted it). */
  private async programPorts(dp: HnveDataPlane, want: readonly { port: string; vni: number }[]): Promise<void> {
    const have = await dp.readPorts();
    let fault: unknown = null;
    for (const p of want) if (!have.some((h) => h.port === p.port && h.vni === p.vni)) await dp.attachPort(p).catch((e: unknown) => (fault ??= e));
    for (const h of have) {
      if (want.some((p) => p.port === h.port)) continue;
      await dp.detachPort(h.port).catch(async (e: unknown) => {
        if ((await dp.readPorts()).some((x) => x.port === h.port)) fault ??= e;
      });
    }
    if (fault) throw fault;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async onPushed(req: Request): Promise<FinalAnswer> {
    const event = req.body.event;
    try {
      if (req.method !== 'NOTIFY') return { status: 405, reason: `this agent takes NOTIFY only, not ${req.method}` };
      if (event === 'mac-table') return await this.serial(() => this.onMacTable(req.body));
      if (event === 'refer') {
        this.emit('refer', req.body);
        return { status: 200 };
      }
      if (event === 'refer-prepare') return await this.serial(() => this.onReferPrepare(req.body));
      if (event === 'refer-abort' || event === 'refer-done') return await this.serial(() => this.onReferEnd(req.body));
      return { status: 400, reason: `Bad Request: event '${String(event)}' is not one this agent knows` };
    } catch (e) {
      const err = e instanceof NvoError ? e : null;
      const status = err?.code === 'invalid-input' ? 400 : 500;
      this.emit('refused', { event, status, reason: (e as Error).message });
      return { status, reason: (e as Error).message, body: err ? err.toJSON() : {} };
    }
  }

  private async onMacTable(body: Record<string, unknown>): Promise<FinalAnswer> {
    const n = parsePush(macTableNotify, body, 'mac-table');
    checkEntries(n.entries, n.base, n.revision);
    const t = this.tables.get(n.cid);
    if (!t) {
      this.emit('refused', { event: 'mac-table', status: 481, reason: `unknown VNI of CID ${n.cid}` });
      return { status: 481, reason: `no session of this hNVE is in CID ${n.cid}` };
    }
    if (n.vni !== null && t.vni && n.vni !== t.vni) throw new NvoError('invalid-input', `mac-table: vni: CID ${n.cid} is VNI ${t.vni} here, not ${n.vni}`, [{ field: 'vni', reason: `must be ${t.vni}` }]);
    // Check the whole result before anything changes: a table that the data plane would refuse is refused here.
    if (t.offer(n.entries)) {
      await this.program();
      this.emit('mac-table', { cid: n.cid, revision: t.revision });
    }
    if (t.gap) this.scheduleGapRepair();
    return { status: 200, body: { cid: n.cid, revision: t.revision, ...(t.gap ? { waiting: true } : {}) } };
  }

  private scheduleGapRepair(): void {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if ([...this.tables.values()].some((t) => t.gap) && this.connected) void this.resync().catch((e: unknown) => this.emit('error-soft', e));
    }, this.opts.gapWaitMs ?? 300);
  }

  private async onReferPrepare(body: Record<string, unknown>): Promise<FinalAnswer> {
    const p = parsePush(referPrepare, body, 'refer-prepare');
    const before = { sessions: new Map(this.sessions), tables: new Map(this.tables) };
    for (const s of p.sessions) this.sessions.set(s.callId, { ...(s as AgentSession), macs: s.macs.filter((m) => m !== s.mac), pending: p.referId });
    for (const v of p.vnis) this.takeVni(v);
    let status = 200;
    let reason = 'ready';
    try {
      await this.program();
      this.emit('refer-prepared', { referId: p.referId });
    } catch (e) {
      status = 500;
      reason = (e as Error).message;
      this.sessions.clear();
      for (const [k, v] of before.sessions) this.sessions.set(k, v);
      this.tables.clear();
      for (const [k, v] of before.tables) this.tables.set(k, v);
      await this.program().catch(() => undefined);
    }
    // The proxy hears the outcome as a request of ours (it may sit in another process than the push).
    void this.request('INFO', { package: 'refer-ack', referId: p.referId, status, reason });
    return { status: 200 };
  }

  private async onReferEnd(body: Record<string, unknown>): Promise<FinalAnswer> {
    const b = parsePush(z.looseObject({ event: z.string(), referId: z.string(), callIds: z.array(z.string()), from: z.string().optional(), to: z.string().optional() }), body, String(body.event));
    for (const id of b.callIds) {
      const s = this.sessions.get(id);
      if (!s) continue;
      if (b.event === 'refer-abort' || b.from === this.opts.nve) this.sessions.delete(id);
      else if (b.to === this.opts.nve) delete s.pending;
    }
    this.dropUnusedTables();
    await this.program();
    this.emit(b.event, b);
    return { status: 200 };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.gapTimer, this.refreshTimer, this.retryTimer]) if (t) clearTimeout(t);
    await this.client?.close();
    await this.queue.catch(() => undefined);
  }
}
