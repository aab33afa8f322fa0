// One hNVE agent as a process of its own (as on a hypervisor), with the recorder data plane; the test
// drives it over the IPC channel: {id, op, args} → {id, ok, result | error}. Events the agent emits
// that a test waits for are forwarded as {event, body}.
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';

const cfg = JSON.parse(process.env.NVO_TEST_AGENT!) as { nve: string; secret: string; urls: string[]; ports?: Record<string, string> };
const plane = new RecorderDataPlane(undefined, { references: true });
const agent = new HnveAgent({ nve: cfg.nve, secret: cfg.secret, urls: cfg.urls, proxy: 'tp1', dataPlane: plane, ports: new Map(Object.entries(cfg.ports ?? {})), reconnectMs: 200, gapWaitMs: 200 });
for (const ev of ['refer', 'refer-prepared', 'refer-done', 'refer-abort', 'ready', 'disconnected']) agent.on(ev, (body: unknown) => process.send!({ event: ev, body }));

type Op = { id: number; op: string; args: unknown[] };
const ops: Record<string, (...a: never[]) => Promise<unknown>> = {
  start: () => agent.start(),
  stop: () => agent.stop(),
  invite: (vm: { mac: string; cid: string; port?: string }, callId?: string) => agent.invite(vm, callId),
  info: (callId: string, change: { add?: string[]; delete?: string[] }) => agent.info(callId, change),
  bye: (callId: string) => agent.bye(callId),
  refer: (to: { to: string }) => agent.refer(to),
  failNext: async (msg: string) => {
    plane.failNext = msg;
  },
  snapshot: async () => ({
    config: await plane.read(),
    ports: await plane.readPorts(),
    tables: Object.fromEntries([...agent.tables].map(([cid, t]) => [cid, { revision: t.revision, table: t.table(), floods: [...t.floods].sort() }])),
    sessions: [...agent.sessions.values()].map((s) => ({ callId: s.callId, cid: s.cid, mac: s.mac, macs: s.macs, pending: s.pending ?? null })),
    history: plane.history,
  }),
};

process.on('message', (m: Op) => {
  const fn = ops[m.op];
  if (!fn) return process.send!({ id: m.id, ok: false, error: `unknown op ${m.op}` });
  (fn as (...a: unknown[]) => Promise<unknown>)(...m.args).then(
    (result) => process.send!({ id: m.id, ok: true, result: JSON.parse(JSON.stringify(result ?? null)) }),
    (e: unknown) => process.send!({ id: m.id, ok: false, error: (e as Error).message }),
  );
});
process.on('disconnect', () => void agent.stop().finally(() => process.exit(0)));
process.send!({ event: 'spawned', body: { pid: process.pid } });
