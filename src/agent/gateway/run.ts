// `nvo gateway-agent`: the CLI parses the options and calls this; it runs until SIGINT/SIGTERM.
import { NvoError } from '../../errors.ts';
import { RecorderDataPlane } from '../../dataplane/recorder.ts';
import type { DataPlane } from '../../dataplane/data-plane.ts';
import type { GatewayAgentConfig } from './config.ts';
import { GatewayAgent } from './gateway-agent.ts';
import { backoffDelay } from '../../backoff.ts';

/** The data plane the settings name; Linux is loaded only when asked for. */
export async function gatewayDataPlane(d: GatewayAgentConfig['dataPlane']): Promise<DataPlane> {
  if (d.kind === 'recorder') return new RecorderDataPlane();
  const { LinuxDataPlane } = await import('../../dataplane/linux/linux-data-plane.ts');
  return new LinuxDataPlane({ localVtep: d.vtep, netns: d.netns, underlayDev: d.underlay, trunk: d.trunk, dstPort: d.dstPort });
}

export interface GatewayAgentRunOptions {
  jid: string;
  password: string;
  /** `xmpp://host:port`. */
  service: string;
  /** The controller's JID (the XMPP driver binds resource `controller` when none is given). */
  controller: string;
  /** Defaults to the in-memory recorder (no root needed). */
  dataPlane?: DataPlane;
  log?: (line: string) => void;
  /** Stop on these signals (default SIGINT, SIGTERM); [] to let the caller stop the agent. */
  signals?: NodeJS.Signals[];
  /** Ends the login retries (the promise then resolves with a stopped agent). */
  abort?: AbortSignal;
}

// SASL failures (RFC 6120 §6.5) that another attempt with the same password cannot cure.
const PERMANENT_SASL = new Set(['not-authorized', 'account-disabled', 'credentials-expired']);

function permanentLoginFailure(e: unknown): boolean {
  const err = e as { name?: string; condition?: string };
  return err.name === 'SASLError' && err.condition !== undefined && PERMANENT_SASL.has(err.condition);
}

/** From 0.5 s up to 30 s between login attempts, jittered so that agents started together spread out. */
const LOGIN_BACKOFF = { baseDelayMs: 500, maxDelayMs: 30_000 };

export async function runGatewayAgent(o: GatewayAgentRunOptions): Promise<GatewayAgent> {
  const log = o.log ?? ((l: string) => console.error(l));
  const agent = new GatewayAgent({ service: o.service, jid: o.jid, password: o.password, controller: o.controller, dataPlane: o.dataPlane ?? new RecorderDataPlane() });
  // Until the first login the retry loop below says one line per attempt; the client's own status
  // changes and socket errors would only repeat it.
  let connected = false;
  agent.on('status', (s: string) => connected && log(`gateway-agent ${o.jid}: ${s}`));
  agent.on('announced', (a: { revision: number }) => log(`gateway-agent ${o.jid}: announced revision ${a.revision} to ${o.controller}`));
  agent.on('applied', (a: { revision: number; mode: string }) => log(`gateway-agent ${o.jid}: applied revision ${a.revision} (${a.mode})`));
  agent.on('refused', (r: { condition: string; from?: string }) => log(`gateway-agent ${o.jid}: refused a request (${r.condition})${r.from ? ` from ${r.from}` : ''}`));
  agent.on('warning', (e: Error) => connected && log(`gateway-agent ${o.jid}: ${e.message}`));

  let stopping = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  o.abort?.addEventListener('abort', stop, { once: true });
  for (const sig of o.signals ?? ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => (stop(), void agent.stop().then(() => process.exit(0))));
  }

  // The XMPP server may come up after us (a reboot, a supervisor starting things in any order): keep
  // trying, as `nvo agent` does with its proxies. A wrong password will not get better: stop at once.
  for (let attempt = 1; !stopping; attempt++) {
    try {
      await agent.start();
      connected = true;
      log(`gateway-agent ${o.jid}: online at ${o.service}`);
      return agent;
    } catch (e) {
      if (permanentLoginFailure(e)) {
        await agent.stop();
        throw new NvoError('unauthorized', `gateway agent ${o.jid}: the XMPP server at ${o.service} refused the login: ${(e as Error).message}`);
      }
      if (stopping) break;
      const wait = backoffDelay(attempt, LOGIN_BACKOFF);
      log(`gateway-agent ${o.jid}: cannot log in at ${o.service} (attempt ${attempt}): ${(e as Error).message}; next try in ${(wait / 1000).toFixed(1)} s`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, wait);
        wake = () => (clearTimeout(timer), r());
      });
      wake = null;
    }
  }
  await agent.stop();
  return agent;
}
