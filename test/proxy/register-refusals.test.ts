// Issue 9, authentication and use case 3: bad credentials are refused AND logged (an operator sees
// who tried what from where), and an hNVE provisioned for another tenant proxy is refused by this
// one ("the admin must tell which tNVE proxy shall be used"), nothing stored either way.
import { afterEach, describe, expect, it } from 'vitest';
import { NveStore } from '../../src/store/nve-store.ts';
import { capturedLog } from '../support/captured-log.ts';
import { HNVES, startStack, type Stack } from './harness.ts';

let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  await s?.inventory.close();
  s = undefined;
});

describe('REGISTER refusals', () => {
  it('a wrong secret is answered 403 and logged with the claimed identity, method and peer address', async () => {
    const captured = capturedLog();
    s = await startStack({ log: captured.log });
    const before = await s.durableSnapshot();
    const { ProtocolClient } = await import('../../src/proxy/transport/ws-client.ts');
    const c = await ProtocolClient.connect(s.url, { identity: 'h2', secret: 'not-the-secret-of-h2', peer: 'tp1' });
    try {
      const r = await c.request('REGISTER', { expires: 600 });
      expect(r.status).toBe(403);
      expect(r.reason).toMatch(/authentication failed/);
    } finally {
      c.close();
    }
    const logged = captured.lines().filter((l) => l.msg === 'authentication failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 40, from: 'h2', method: 'REGISTER', remote: expect.stringMatching(/127\.0\.0\.1/) });
    // Nonces the proxy issued live in Redis with a TTL; nothing else may change.
    expect(await s.durableSnapshot()).toBe(before);
  }, 60_000);

  it('an hNVE provisioned for another tenant proxy is refused here, naming that proxy', async () => {
    s = await startStack();
    const h1 = HNVES.find((h) => h.id === 'h1')!;
    await new NveStore(s.t.redis, s.t.k, s.inventory).put({ ...h1, tenantProxy: 'tp2' }, { replace: true });
    const before = await s.durableSnapshot();
    const agent = await s.agent('h1');
    const r = await agent.register(600);
    expect(r.status).toBe(403);
    expect(r.reason).toBe('h1 is provisioned for tenant proxy tp2, not tp1');
    expect(r.body).toMatchObject({ tenantProxy: 'tp2' });
    expect(await s.tenant.deps.registrar.get('h1')).toBeNull();
    expect(await s.durableSnapshot()).toBe(before);
  }, 60_000);
});
