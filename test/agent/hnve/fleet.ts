// N hNVE agents in one VNI, for the fan-out test and `npm run bench:fanout`. One agent (h1) INVITEs a
// real VM through the proxies; the other N-1 are provisioned hNVEs whose sessions and memberships are
// written to Redis as an INVITE would leave them (N INVITEs would fan out N²/2 NOTIFYs just to set up),
// then they start as real agents: REGISTER, INFO state, program their recorder data planes.
import { HnveAgent } from '../../../src/agent/hnve/hnve-agent.ts';
import { RecorderDataPlane } from '../../../src/dataplane/recorder.ts';
import { Membership } from '../../../src/proxy/network/membership.ts';
import { Sessions } from '../../../src/proxy/tenant/sessions.ts';
import { NveStore } from '../../../src/store/nve-store.ts';
import { SECRETS, startStack, type Stack } from '../../proxy/harness.ts';

/** What seedFleet leaves: h1 with a real session, and N-1 members written to Redis, not started. */
export interface SeededFleet {
  s: Stack;
  h1: HnveAgent;
  callId: string;
  members: { id: string; secret: string }[];
}

export interface Fleet extends SeededFleet {
  agents: HnveAgent[];
  close(): Promise<void>;
}

/** Documentation addresses only (RFC 5737), none of the harness's. */
function vtepOf(i: number): string {
  // A VTEP belongs to one NVE (the store refuses a second): 198.51.100.203 is h3, 192.0.2.201-.202 h1-h2.
  if (i <= 253) return `198.51.100.${i >= 203 ? i + 1 : i}`;
  const x = i - 253;
  return `192.0.2.${x >= 201 ? x + 3 : x}`;
}

const plane = () => new RecorderDataPlane(undefined, { references: true });

/** The stack, h1's INVITE, and the other members provisioned with their sessions and memberships. */
export async function seedFleet(n: number): Promise<SeededFleet> {
  const s = await startStack({ branchTimeoutMs: 60_000 });
  const h1 = new HnveAgent({ nve: 'h1', secret: SECRETS.h1, urls: [s.url], proxy: 'tp1', dataPlane: plane(), timeoutMs: 60_000 });
  await h1.start();
  const r = await h1.invite({ mac: '02:00:00:00:01:01', cid: 'acme' });
  if (r.status !== 200) throw new Error(`INVITE: ${r.status} ${r.reason}`);
  const answer = [...h1.sessions.values()][0]!.answer;

  const nves = new NveStore(s.t.redis, s.t.k, s.inventory);
  const sessions = new Sessions(s.t.redis, s.t.k);
  const members = new Membership(s.t.redis, s.t.k);
  const seeded: { id: string; secret: string }[] = [];
  for (let i = 1; i < n; i++) {
    const id = `f${i}`;
    const vtep = vtepOf(i);
    const mac = `02:00:00:f0:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const secret = `fleet-secret-${id}-0123456789`;
    await nves.put({ id, pod: 'pod1', vtep, encapsulations: ['vxlan'], secret });
    const callId = `fleet-${id}`;
    await sessions.create({ callId, nve: id, cid: 'acme', pod: 'pod1', mac, state: 'established', branches: ['np1'], answer: { ...answer, vtep }, createdAt: new Date().toISOString() });
    await members.add('acme', { mac, vtep, nve: id, callId, pod: 'pod1', encapsulation: String(answer.encapsulation) });
    seeded.push({ id, secret });
  }
  // What was written above is the starting point, not news: the first fan-out carries only the change.
  await members.claimFanout('acme');
  return { s, h1, callId: r.callId, members: seeded };
}

/** seedFleet, then every member started as a real agent in this process. */
export async function startFleet(n: number): Promise<Fleet> {
  const seeded = await seedFleet(n);
  const { s, h1 } = seeded;
  const agents: HnveAgent[] = [];
  for (let i = 0; i < seeded.members.length; i += 25) {
    const batch = seeded.members.slice(i, i + 25).map((m) => new HnveAgent({ nve: m.id, secret: m.secret, urls: [s.url], proxy: 'tp1', dataPlane: plane(), timeoutMs: 60_000, gapWaitMs: 2_000 }));
    await Promise.all(batch.map((a) => a.start()));
    agents.push(...batch);
  }
  return {
    ...seeded,
    agents,
    async close() {
      for (const a of [h1, ...agents]) await a.stop();
      await s.close();
    },
  };
}
