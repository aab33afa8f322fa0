// Shared by the XMPP tests: a private Prosody with accounts, and the few steps of the sync pipeline
// (issue 6) that a test needs to drive the driver the way BullMQ will: read desired and applied state,
// push the difference, record the applied revision.
import { createProsody, type ProsodyServer } from '../../../lab/prosody-server.ts';
import { diffConfig, emptyConfig, type DeviceConfig } from '../../../src/model/device-config.ts';
import type { DeviceStateStore } from '../../../src/store/device-state.ts';
import { XmppDriver, type PushAck, type XmppDevice } from '../../../src/drivers/xmpp/xmpp-driver.ts';
import { XmppError } from '../../../src/drivers/xmpp/xmpp-error.ts';

export interface XmppLab {
  prosody: ProsodyServer;
  /** user → password */
  passwords: Record<string, string>;
  jid(user: string): string;
  destroy(): Promise<void>;
}

export async function xmppLab(users: string[]): Promise<XmppLab> {
  const prosody = await createProsody();
  const passwords: Record<string, string> = {};
  try {
    for (const u of users) {
      passwords[u] = `pw-${u}-${Math.random().toString(36).slice(2)}`;
      await prosody.register(u, passwords[u]);
    }
    await prosody.start();
  } catch (e) {
    await prosody.destroy();
    throw e;
  }
  return { prosody, passwords, jid: (u) => `${u}@${prosody.domain}`, destroy: () => prosody.destroy() };
}

/** nvo's side logged in as the lab's `nvo` account; `devices` (read at each lookup) answer announcements. */
export async function controllerDriver(lab: XmppLab, store: DeviceStateStore, devices: Record<string, XmppDevice>, timeoutMs: number): Promise<XmppDriver> {
  const driver = new XmppDriver({ service: lab.prosody.service, jid: lab.jid('nvo'), password: lab.passwords.nvo!, store, deviceByJid: (bare) => Object.values(devices).find((d) => d.jid === bare), timeoutMs });
  await driver.start();
  return driver;
}

export const cfg = (patch: Partial<DeviceConfig>): DeviceConfig => ({ ...emptyConfig(), ...patch });

/** One coalesced sync job: push what the device lacks, record it. Returns null when in sync. */
export async function syncOnce(store: DeviceStateStore, driver: XmppDriver, device: XmppDevice): Promise<PushAck | null> {
  const desired = await store.desired(device.id);
  const applied = await store.applied(device.id);
  if (desired.revision === applied.revision) return null;
  const ack = await driver.apply(device, { base: applied.revision, revision: desired.revision, change: diffConfig(applied.config, desired.config), config: desired.config });
  await store.recordApplied(device.id, desired.revision, desired.config, { committed: true });
  return ack;
}

/** The job with BullMQ's retry on transient errors, until `deadline` ms have passed. */
export async function syncWithRetry(store: DeviceStateStore, driver: XmppDriver, device: XmppDevice, deadline = 30_000): Promise<{ ack: PushAck | null; transientFailures: number }> {
  const until = Date.now() + deadline;
  let transientFailures = 0;
  for (;;) {
    try {
      return { ack: await syncOnce(store, driver, device), transientFailures };
    } catch (e) {
      if (!(e instanceof XmppError) || !e.transient || Date.now() > until) throw e;
      transientFailures++;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function waitFor<T>(what: string, probe: () => T | Promise<T>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
