// What the demo reads to prove things, each from its own source: the hNVE agents through their
// control sockets, the NETCONF devices over NETCONF (get-config of nvo's subtree of running), the
// XMPP gateway agent over XMPP (its state query), and the proxies' views from Redis.
import { controlRequest, type AgentState, type ControlCommand } from '../../agent/hnve/control.ts';
import { NvoError } from '../../errors.ts';
import { emptyConfig, type DeviceConfig } from '../../model/device-config.ts';
import type { Device } from '../../model/device.ts';
import { deviceRows, type DeviceRow } from '../../proxy/views/network-view.ts';
import type { ViewSources } from '../../proxy/views/sources.ts';
import { agentSocket } from '../hnve-agents.ts';
import type { LabHandle } from '../lab-handle.ts';

export type { AgentState };

/** A command to hypervisor `hv`'s running agent in the lab at `stateDir`; a socket not there yet (an agent starting) is retried for a while. */
export async function ctl(stateDir: string, hv: string, command: ControlCommand, timeoutMs = 60_000): Promise<Record<string, unknown> & { status: number; reason?: string }> {
  const socket = agentSocket(stateDir, hv);
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      return await controlRequest(socket, command, timeoutMs);
    } catch (e) {
      if (!(e instanceof NvoError) || e.code !== 'unavailable' || Date.now() > end) throw e;
      await sleep(200);
    }
  }
}

export async function agentStateOf(stateDir: string, hv: string): Promise<AgentState> {
  const r = await ctl(stateDir, hv, { op: 'state' });
  if (r.status !== 200) throw new NvoError('unavailable', `agent ${hv}: state: ${r.status} ${r.reason}`);
  return r.state as AgentState;
}

/** nvo's part of a device's running configuration, read from the device itself. */
export class DeviceReader {
  private xmpp: import('../../drivers/xmpp/xmpp-driver.ts').XmppDriver | null = null;

  constructor(
    private readonly lab: LabHandle,
    private readonly views: ViewSources,
  ) {}

  async read(device: Device): Promise<{ config: DeviceConfig; native?: string }> {
    if (device.driver === 'netconf') {
      const { getRunning } = await import('../../drivers/netconf/device-ops.ts');
      const { xml, config } = await getRunning(device);
      return { config, native: xml };
    }
    if (!this.xmpp) {
      const { XmppDriver } = await import('../../drivers/xmpp/xmpp-driver.ts');
      const login = this.lab.xmpp;
      // A resource of its own: the pipeline's session under the same full JID would be kicked.
      this.xmpp = new XmppDriver({ service: login.service, jid: `${login.controller.jid.split('/')[0]}/demo-${process.pid}`, password: login.controller.password, store: this.views.state, deviceByJid: () => undefined });
      await this.xmpp.start();
    }
    return { config: (await this.xmpp.state(device as Device & { jid: string })).config };
  }

  async close(): Promise<void> {
    await this.xmpp?.stop();
  }
}

/** Waits until every device has applied what nvo wants there (the pipeline's record); the rows then. */
export async function untilSynced(views: ViewSources, ms = 45_000): Promise<DeviceRow[]> {
  const end = Date.now() + ms;
  for (;;) {
    const rows = await deviceRows(views);
    const lagging = rows.filter((r) => r.syncState !== 'in-sync' || r.appliedRevision < r.desiredRevision);
    if (lagging.length === 0) return rows;
    const failed = lagging.find((r) => r.syncState === 'failed');
    if (failed) throw new NvoError('device-error', `${failed.device}: sync failed: ${failed.lastError}`);
    if (Date.now() > end) throw new NvoError('timeout', `devices not in sync after ${ms / 1000} s: ${lagging.map((r) => `${r.device} ${r.syncState} ${r.appliedRevision}/${r.desiredRevision}`).join(', ')}`);
    await sleep(150);
  }
}

/** Polls `fn` until it gives a truthy value or the time is up (then the last value, falsy). */
export async function until<T>(fn: () => Promise<T>, ms = 20_000, every = 200): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    let v: T;
    try {
      v = await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      v = undefined as T;
    }
    if (v || Date.now() > end) return v;
    await sleep(every);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const macsOf = (c: DeviceConfig | null | undefined, vni: number) => (c ?? emptyConfig()).macs.filter((m) => m.vni === vni).map((m) => `${m.mac}@${m.vtep}`).sort();
