// netsim's failure injection in the whole chain (chain.ts). A device that refuses the commit
// makes the INVITE fail with the device's own words, and the session is rolled back on every device it
// touched: the devices that accepted their part take it away again, and nothing of it stays allocated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allocator } from '../../src/alloc/allocator.ts';
import { normalizeConfig } from '../../src/model/device-config.ts';
import { CHAIN_DEVICES as ids, startNetsimChain } from './chain.ts';

let c: Awaited<ReturnType<typeof startNetsimChain>>;
beforeAll(async () => {
  c = await startNetsimChain({ syncDeadlineMs: 60_000, retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 } });
}, 120_000);
afterAll(async () => {
  await c?.close();
});

describe('a refused commit in the pipeline', () => {
  it('fails the INVITE with the device words and rolls the session back on every device', async () => {
    const { client, fleet, pipeline, t } = c;
    const first = await client.invite({ mac: '02:00:00:00:01:01' }, 'acme');
    expect(first.status).toBe(200);
    const before = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await c.running(id)] as const)));
    expect(before.wan1!.vnis.map((v) => v.vni)).toEqual([5001]);

    // The WAN gateway refuses every commit from now on, with a commit-check failure (a permanent error: no retry).
    fleet.inject(fleet.ports[1]!, { kind: 'refuse-commit', count: 100, error: { type: 'application', tag: 'operation-failed', message: 'commit check failed: TCAM full on wan1' } });
    const refused = await client.invite({ mac: '02:00:00:00:02:01' }, 'globex');
    expect(refused.status).toBe(500);
    expect(refused.reason).toContain('TCAM full on wan1');

    // Rolled back everywhere: the devices that took their part of the session gave it back.
    for (const id of ids) {
      await c.settled(id);
      expect(await c.running(id)).toEqual(before[id]);
      expect(normalizeConfig((await pipeline.store.desired(id)).config)).toEqual(before[id]);
    }
    expect(await new Allocator(t.redis, t.k).vlanOf('globex', 'pod1')).toBeNull();

    // The device recovers: the same tenant's VM goes through.
    fleet.inject(fleet.ports[1]!, { kind: 'clear' });
    const again = await client.invite({ mac: '02:00:00:00:02:01' }, 'globex');
    expect(again.status).toBe(200);
    expect((await c.running('wan1')).vnis.map((v) => v.vni)).toEqual([5001, 5002]);
  }, 120_000);
});
