// The in-memory device sync on real Redis: many sessions writing one device at once all see their
// revision applied, in far fewer applies than requests (coalesced); a failing device rejects with its
// own words, a hanging one times out, and a revision another instance applied counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { emptyConfig } from '../../src/model/device-config.ts';
import { MemoryDeviceSync } from '../../src/proxy/network/memory-device-sync.ts';
import { DeviceStateStore } from '../../src/store/device-state.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

let t: TestRedis;
let state: DeviceStateStore;

beforeAll(async () => {
  t = await testRedis();
  state = new DeviceStateStore(t.redis, t.k);
});

afterAll(async () => {
  await t?.cleanup();
});

const fragment = (i: number) => ({ ...emptyConfig(), macs: [{ vni: 5001, mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, vtep: '192.0.2.201' }] });

describe('MemoryDeviceSync', () => {
  it('300 sessions on two shared devices at once: every one applied, coalesced into far fewer applies', async () => {
    const sync = new MemoryDeviceSync(state);
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const targets = [];
        for (const device of ['gw-a', 'gw-b']) targets.push({ device, revision: await state.setContribution(device, `session:${i}`, fragment(i)) });
        await sync.request(targets, { sessionId: String(i) });
        await sync.waitApplied(targets, { deadlineMs: 30_000, sessionId: String(i) });
        for (const x of targets) expect(await state.appliedRevision(x.device)).toBeGreaterThanOrEqual(x.revision);
      }),
    );
    for (const device of ['gw-a', 'gw-b']) {
      const [want, have] = [await state.desired(device), await state.applied(device)];
      expect(have.revision).toBe(want.revision);
      expect(have.config.macs).toHaveLength(300);
    }
    expect(sync.requests).toHaveLength(300);
    expect(sync.applies).toBeLessThan(2 * 300);
  });

  it('a failing device rejects with its own words; a hanging one ends in timeout; another instance\'s apply counts', async () => {
    const sync = new MemoryDeviceSync(state);
    sync.fail('bad', 'value not in range');
    const r1 = { device: 'bad', revision: await state.setContribution('bad', 'session:x', fragment(1)) };
    await sync.request([r1], { sessionId: 'x' });
    const e1 = await sync.waitApplied([r1], { deadlineMs: 5_000, sessionId: 'x' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(NvoError);
    expect(e1).toMatchObject({ code: 'device-error', message: 'bad: value not in range', details: { device: 'bad', deviceMessage: 'value not in range' } });
    expect((await state.status('bad')).lastError?.message).toBe('value not in range');

    sync.hang('slow');
    const r2 = { device: 'slow', revision: await state.setContribution('slow', 'session:y', fragment(2)) };
    await sync.request([r2], { sessionId: 'y' });
    const e2 = await sync.waitApplied([r2], { deadlineMs: 300, sessionId: 'y' }).catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'timeout', details: { devices: ['slow'] } });

    // Another instance (another network proxy process) brings it there: this one's waiter sees it.
    await new MemoryDeviceSync(state).request([r2], { sessionId: 'y' });
    await sync.waitApplied([r2], { deadlineMs: 5_000, sessionId: 'y' });
    expect(await state.appliedRevision('slow')).toBe(r2.revision);
  });
});
