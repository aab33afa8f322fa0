// An hNVE agent that restarts (a new process: its per-call CSeq counters are gone) re-learns its
// sessions from the proxy, the CSeq last used in each among them, and goes on in those calls: its
// next INFO and BYE go above what the old process used (RFC 3261 §12.2.1.1) instead of being refused
// 400 for a CSeq the proxy has already seen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { SECRETS, startStack, type Stack } from '../../proxy/harness.ts';

let s: Stack;
const agents: HnveAgent[] = [];
beforeAll(async () => {
  s = await startStack();
}, 30_000);
afterAll(async () => {
  for (const a of agents) await a.stop();
  await s?.close();
  await s?.inventory.close();
});

const agent = () => {
  const a = new HnveAgent({ nve: 'h1', secret: SECRETS.h1, urls: [s.url], proxy: 'tp1', dataPlane: new RecorderDataPlane(undefined, { references: true }) });
  agents.push(a);
  return a;
};

describe('an agent that restarted', () => {
  it('goes on in its old sessions with CSeqs above the ones it used before', async () => {
    const first = agent();
    await first.start();
    const v = await first.invite({ mac: '02:00:00:00:01:01', cid: 'acme' });
    expect(v.status, v.reason).toBe(200);
    for (const mac of ['02:00:00:00:01:02', '02:00:00:00:01:03']) expect((await first.info(v.callId, { add: [mac] })).status).toBe(200);
    await first.stop();

    const again = agent();
    await again.start();
    expect([...again.sessions.keys()]).toEqual([v.callId]);
    const info = await again.info(v.callId, { delete: ['02:00:00:00:01:03'] });
    expect(info.status, info.reason).toBe(200);
    const bye = await again.bye(v.callId);
    expect(bye.status, bye.reason).toBe(200);
    expect(await s.tenant.deps.sessions.get(v.callId)).toBeNull();
  }, 60_000);
});
