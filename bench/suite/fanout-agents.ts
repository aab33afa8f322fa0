// One child process of bench/fanout.ts: real hNVE agents (recorder data planes) for a share of a
// VNI's members, each on its own WebSocket to the tenant proxy. Per round it reports, for each agent,
// when the NOTIFY carrying the round's revision was read off its connection ("received") and when the
// agent had applied it ("applied"), as wall-clock milliseconds (performance.timeOrigin + now(), which
// processes on one machine share).
//
// Receiving is kept apart from applying: the agent's handling of a push is started one agent per
// event-loop turn (setImmediate), so the loop reads every NOTIFY that has arrived before it runs the
// next agent's table and data-plane work. Without that, a member's "received" time would include the
// CPU work of every agent that this process handled before it — the co-location the figure is meant to
// leave out. The work itself is the agent's own, unchanged, and is in the "applied" figure.
import { performance } from 'node:perf_hooks';
import { HnveAgent } from '../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../src/dataplane/recorder.ts';
import type { Request } from '../../src/proxy/protocol/messages.ts';

export type ParentMessage =
  | { type: 'start'; url: string; members: { id: string; secret: string }[] }
  | { type: 'round'; round: number; cid: string; target: number }
  | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'armed'; round: number }
  | { type: 'round'; round: number; received: number[]; applied: number[] }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

const now = () => performance.timeOrigin + performance.now();
const send = (m: ChildMessage) => process.send!(m);

// The agent's push handler is private; it is wrapped here, in the bench only, to timestamp receipt.
type Pushed = (this: HnveAgent, req: Request) => Promise<unknown>;
const proto = HnveAgent.prototype as unknown as { onPushed: Pushed };
const handle = proto.onPushed;
let turn: Promise<void> = Promise.resolve();
const receivedAt = new Map<HnveAgent, number>();
let want: { cid: string; target: number } | null = null;
proto.onPushed = function (req) {
  const b = req.body;
  if (want && b.event === 'mac-table' && b.cid === want.cid && Number(b.revision) >= want.target && !receivedAt.has(this)) receivedAt.set(this, now());
  const slot = turn.then(() => new Promise<void>((r) => setImmediate(r)));
  turn = slot;
  return slot.then(() => handle.call(this, req));
};

let agents: HnveAgent[] = [];

async function start(url: string, members: { id: string; secret: string }[]): Promise<void> {
  for (let i = 0; i < members.length; i += 25) {
    const batch = members.slice(i, i + 25).map(
      (m) => new HnveAgent({ nve: m.id, secret: m.secret, urls: [url], proxy: 'tp1', dataPlane: new RecorderDataPlane(undefined, { references: true }), timeoutMs: 60_000, gapWaitMs: 2_000 }),
    );
    await Promise.all(batch.map((a) => a.start()));
    agents.push(...batch);
  }
}

function round(m: { round: number; cid: string; target: number }): void {
  receivedAt.clear();
  want = { cid: m.cid, target: m.target };
  const applied = agents.map(
    (a) =>
      new Promise<number>((resolve) => {
        const on = (e: { cid: string; revision: number }) => {
          if (e.cid !== m.cid || e.revision < m.target) return;
          a.off('mac-table', on);
          resolve(now());
        };
        a.on('mac-table', on);
      }),
  );
  void Promise.all(applied).then((times) => send({ type: 'round', round: m.round, received: agents.map((a) => receivedAt.get(a) ?? NaN), applied: times }));
  send({ type: 'armed', round: m.round });
}

process.on('message', (m: ParentMessage) => {
  if (m.type === 'start') {
    start(m.url, m.members).then(
      () => send({ type: 'ready' }),
      (e: unknown) => send({ type: 'error', message: (e as Error).message }),
    );
  } else if (m.type === 'round') {
    round(m);
  } else {
    const all = agents;
    agents = [];
    void Promise.all(all.map((a) => a.stop())).then(() => {
      send({ type: 'stopped' });
      process.disconnect();
    });
  }
});
