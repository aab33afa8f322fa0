// The VNI membership's small reads that spare the INVITE the whole table: who holds a MAC, and which
// encapsulation the CID's other sessions use — also when every member drawn at random is the asking
// session's own (it holds several MACs), which must fall back to the whole table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Membership, type Member } from '../../src/proxy/network/membership.ts';
import { testRedis, type TestRedis } from '../support/redis.ts';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(() => t.cleanup());

const member = (i: number, callId: string, encapsulation = 'vxlan'): Member => ({
  mac: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
  vtep: '192.0.2.1',
  nve: 'h1',
  callId,
  pod: 'pod1',
  encapsulation,
});

describe('membership reads for INVITE', () => {
  it('finds the holder of a MAC and the encapsulation of the other sessions', async () => {
    const m = new Membership(t.redis, t.k);
    expect(await m.encapsulationInUse('acme', 'c1')).toBeUndefined();
    expect(await m.add('acme', member(1, 'c1', 'nvgre'))).toBeNull();
    // only the asking session's own member: nothing "in use" by others
    expect(await m.encapsulationInUse('acme', 'c1')).toBeUndefined();
    expect(await m.encapsulationInUse('acme', 'c2')).toBe('nvgre');
    expect((await m.holder('acme', member(1, 'x').mac))?.callId).toBe('c1');
    expect(await m.holder('acme', member(9, 'x').mac)).toBeNull();
  });

  it('falls back to the whole table when every member drawn is the asking session’s', async () => {
    const m = new Membership(t.redis, t.k);
    // c7 holds 40 MACs, c8 one: three random draws are nearly always all c7's
    for (let i = 0; i < 40; i++) await m.add('globex', member(i, 'c7', 'vxlan'));
    await m.add('globex', member(100, 'c8', 'vxlan'));
    for (let round = 0; round < 20; round++) expect(await m.encapsulationInUse('globex', 'c7')).toBe('vxlan');
    await m.remove('globex', '', 'c8');
    for (let round = 0; round < 5; round++) expect(await m.encapsulationInUse('globex', 'c7')).toBeUndefined();
  });
});
