// Shared by the netsim tests: a fleet on free loopback ports, and nvo's client sessions to it.
import { Fleet, type FleetOptions } from '../../src/netsim/fleet.ts';
import { NetconfSession, type SessionOptions } from '../../src/drivers/netconf/rpc.ts';
import { NvoError } from '../../src/errors.ts';

/** A fleet at a random base port, tried again elsewhere when a port is taken. */
export async function testFleet(o: Omit<FleetOptions, 'basePort'>): Promise<Fleet> {
  for (let attempt = 0; ; attempt++) {
    const basePort = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      return await Fleet.start({ ...o, basePort });
    } catch (err) {
      if (!(err instanceof NvoError && err.code === 'conflict') || attempt >= 5) throw err;
    }
  }
}

export function sessionOpener(fleet: Fleet) {
  const opened: NetconfSession[] = [];
  const open = async (port = fleet.ports[0]!, extra: Partial<SessionOptions> = {}) => {
    const s = await NetconfSession.open({ host: fleet.host, port, username: fleet.username, password: fleet.password, hostKeyCheck: 'pinned', hostKey: fleet.hostKey(port), rpcTimeoutMs: 20_000, ...extra });
    opened.push(s);
    return s;
  };
  const closeAll = () => {
    for (const s of opened) s.end();
  };
  return { open, closeAll };
}

export const LAB = 'urn:nvo3:lab';
export const vlans = (...ids: number[]) => `<nvo xmlns="${LAB}">${ids.map((id) => `<vlan><id>${id}</id></vlan>`).join('')}</nvo>`;

/** Waits for `check` to hold, polling; fails with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
