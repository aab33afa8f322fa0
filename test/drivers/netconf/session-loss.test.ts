// Sessions that die without a clean close: a path that goes silent (SSH keepalives against real
// netconfd behind sshd, through a relay the test can freeze) and a peer that breaks RFC 6242 framing.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetconfServers, type NetconfInstance, type NetconfServers } from '../../../lab/netconf-server.ts';
import { NetconfError } from '../../../src/drivers/netconf/netconf-error.ts';
import * as op from '../../../src/drivers/netconf/operations.ts';
import { NetconfSession } from '../../../src/drivers/netconf/rpc.ts';
import type { Fleet } from '../../../src/netsim/fleet.ts';
import { sessionOpener, testFleet } from '../../netsim/support.ts';
import { rejection } from '../../support/rejection.ts';

let servers: NetconfServers;
let nc: NetconfInstance;
let fleet: Fleet;
let sim: ReturnType<typeof sessionOpener>;
const sessions: NetconfSession[] = [];

beforeAll(async () => {
  servers = await startNetconfServers({ count: 1 });
  nc = servers.instances[0]!;
  fleet = await testFleet({ devices: 1 });
  sim = sessionOpener(fleet);
});
afterAll(async () => {
  for (const s of sessions) s.end();
  sim?.closeAll();
  await fleet?.stop();
  await servers?.stop();
});

// A loopback TCP relay to sshd that can stop forwarding in both directions while keeping both
// sockets open: to each end the path looks alive at the TCP level but carries nothing — what a
// dead middlebox or a pulled cable past the first hop looks like.
interface Relay {
  port: number;
  frozen: boolean;
  sockets: Socket[];
  close(): Promise<void>;
}
async function relayTo(host: string, port: number): Promise<Relay> {
  const relay: Relay = { port: 0, frozen: false, sockets: [], close: async () => undefined };
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host, port });
    relay.sockets.push(inbound, outbound);
    const pipe = (from: Socket, to: Socket) =>
      from.on('data', (d: Buffer) => {
        if (!relay.frozen) to.write(d);
      });
    pipe(inbound, outbound);
    pipe(outbound, inbound);
    for (const s of [inbound, outbound]) s.on('error', () => undefined);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as { port: number }).port;
  relay.close = () =>
    new Promise<void>((resolve) => {
      for (const s of relay.sockets) s.destroy();
      server.close(() => resolve());
    });
  return relay;
}

describe('SSH keepalives (real netconfd behind sshd, through a relay)', () => {
  it('a path that goes silent ends the session with session-lost and rejects every pending RPC', async () => {
    const relay = await relayTo(nc.host, nc.port);
    try {
      const s = await NetconfSession.open({
        host: '127.0.0.1',
        port: relay.port,
        username: nc.username,
        password: nc.password,
        hostKeyCheck: 'pinned',
        hostKey: nc.hostKey,
        keepaliveIntervalMs: 300,
        keepaliveCountMax: 2,
      });
      sessions.push(s);
      // the session works through the relay, and outlives many keepalive intervals while the path is alive
      await op.getConfig(s, 'running');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(s.isOpen).toBe(true);
      await op.getConfig(s, 'running');

      relay.frozen = true;
      const started = Date.now();
      // the RPC timeout (60 s) is far past the test's budget: only the keepalive can end these
      const pending = Array.from({ length: 5 }, () => rejection(s.rpc('<get-config><source><running/></source></get-config>', { timeoutMs: 60_000 })));
      expect(s.inFlight).toBe(5);
      const errors = await Promise.all(pending);
      const took = Date.now() - started;
      for (const e of errors) {
        expect(e).toBeInstanceOf(NetconfError);
        expect((e as NetconfError).netconfCode).toBe('session-lost');
        expect((e as NetconfError).transient).toBe(true);
      }
      expect(errors[0]!.message).toMatch(/keepalive/i);
      expect(s.isOpen).toBe(false);
      expect(s.inFlight).toBe(0);
      // ~300 ms × (2 + 1) on an idle machine; generous for a loaded one, far below the RPC timeout
      expect(took).toBeLessThan(15_000);
      expect((await rejection(op.get(s))) as NetconfError).toMatchObject({ netconfCode: 'session-lost' });
    } finally {
      await relay.close();
    }
  }, 60_000);
});

// No real server sends a malformed chunk, so netsim (nvo's own NETCONF simulator) stands in for
// the device here: its bad-chunk fault answers the next RPC with "\n#0\n" (chunk-size 0, which
// RFC 6242 §4.2 forbids).
describe('a framing error from the peer (netsim stand-in)', () => {
  it('ends the session: every pending RPC rejects with the framing code and the session reports closed', async () => {
    const port = fleet.ports[0]!;
    const s = await sim.open(port);
    expect(s.framing).toBe('1.1');
    await op.getConfig(s, 'running'); // answered normally before the fault
    fleet.inject(port, { kind: 'bad-chunk' });
    const pending = Array.from({ length: 4 }, () => rejection(s.rpc('<get-config><source><running/></source></get-config>', { timeoutMs: 60_000 })));
    const errors = await Promise.all(pending);
    for (const e of errors) {
      expect(e).toBeInstanceOf(NetconfError);
      expect((e as NetconfError).netconfCode).toBe('framing');
      expect((e as NetconfError).transient).toBe(false);
      expect(e.message).toContain('chunk size 0');
    }
    expect(s.isOpen).toBe(false);
    expect(s.inFlight).toBe(0);
    expect(((await rejection(op.get(s))) as NetconfError).netconfCode).toBe('framing');
    // the device saw the session end (the client closed the SSH connection)
    await expect.poll(() => fleet.status()[0]!.sessions, { timeout: 10_000 }).toEqual([]);
  });
});
