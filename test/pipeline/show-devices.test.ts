// `nvo show devices` as a user runs it (the real CLI in its own process) after the pipeline synced one
// device, then failed on it, and had another refuse its only change: revisions, sync state, last commit
// time and last error per device, as a table and as JSON. Devices are SIMULATED (harness.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNvo } from '../support/nvo-cli.ts';
import { harness, vlans, type Harness } from './harness.ts';

let h: Harness;
const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: h.t.prefix, NVO_LOG_LEVEL: 'warn' });

async function change(device: string, owner: string, ids: number[]) {
  const revision = await h.pipeline.store.setContribution(device, owner, vlans(...ids));
  await h.pipeline.port.request([{ device, revision }], { sessionId: owner });
  return h.pipeline.port.waitApplied([{ device, revision }], { deadlineMs: 20_000, sessionId: owner });
}

let committedAt: string;
beforeAll(async () => {
  // Two attempts and no sweep: once tor1's job has failed nothing runs, so no view can catch it mid-sync.
  h = await harness({ retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, sweepIntervalMs: 600_000 });
  await change('tor1', 's1', [10]);
  committedAt = (await h.pipeline.store.status('tor1')).lastCommitAt!;
  expect(committedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  // Then tor1 stops answering: its next change waits in retries, its last error says why.
  await h.sim.injectFaults('tor1', 1_000_000);
  const revision = await h.pipeline.store.setContribution('tor1', 's2', vlans(20));
  await h.pipeline.port.request([{ device: 'tor1', revision }], { sessionId: 's2' });
  const failed = async () => (await h.pipeline.queue.getJobs(['failed'])).some((j) => j.data.device === 'tor1');
  for (let i = 0; i < 400 && !(await failed()); i++) await new Promise((r) => setTimeout(r, 50));
  expect(await failed()).toBe(true);
  // tor2 refuses the only change it was ever sent: no commit at all. The refused contribution is
  // quarantined and the applied revision moves past it (the session's rollback will remove it).
  await expect(change('tor2', 'bad', [5000])).rejects.toMatchObject({ code: 'device-error' });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('nvo show devices', () => {
  it('lists revisions, sync state, last commit time and last error per device', async () => {
    const r = await nvo(['show', 'devices']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['DEVICE', 'ROLE', 'REG', 'DESIRED', 'APPLIED', 'STATE', 'VLANS', 'VNIS', 'TUNNELS', 'MACS', 'GROUPS', 'LAST COMMIT', 'LAST ERROR']);
    const row = (id: string) => rows.find((l) => l.startsWith(`${id} `))!.split(/\s{2,}/);
    expect(row('tor1')).toEqual(['tor1', '-', 'yes', '2', '1', 'failed', '10,20', '-', '0', '0', '-', committedAt, 'connect ECONNREFUSED (injected fault)']);
    expect(row('tor2')).toEqual(['tor2', '-', 'yes', '1', '1', 'in-sync', '5000', '-', '0', '0', '-', '-', 'value not in range']);
  });

  it('--json carries the same, with null for never', async () => {
    const r = await nvo(['show', 'devices', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { device: string }[];
    expect(rows.find((x) => x.device === 'tor1')).toMatchObject({ desiredRevision: 2, appliedRevision: 1, syncState: 'failed', lastCommitAt: committedAt, lastError: 'connect ECONNREFUSED (injected fault)' });
    expect(rows.find((x) => x.device === 'tor2')).toMatchObject({ desiredRevision: 1, appliedRevision: 1, syncState: 'in-sync', lastCommitAt: null, lastError: 'value not in range' });
  });
});
