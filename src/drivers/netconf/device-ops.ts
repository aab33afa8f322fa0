// What the CLI and the sync job call: a Device from the inventory in, NETCONF work done, the
// session always closed.
import type { Device } from '../../model/device.ts';
import { diffConfig, normalizeConfig, ENTRY_KINDS, entryKey, stableJson, type DeviceConfig, type DeviceChange } from '../../model/device-config.ts';
import { invalid } from '../../errors.ts';
import { applyDeviceChange, type ApplyOptions, type ApplyResult } from './apply.ts';
import { getDialect, type Dialect } from './dialects/registry.ts';
import { notRenderedKinds } from './dialects/dialect.ts';
import * as op from './operations.ts';
import { NetconfSession, type SessionOptions } from './rpc.ts';

export function sessionOptions(device: Device, extra: Partial<SessionOptions> = {}): SessionOptions {
  const m = device.management;
  if (device.driver !== 'netconf' || !m) throw invalid('driver', `device ${device.id} is not a NETCONF device`);
  const hostKeyCheck = m.hostKeyCheck ?? (m.hostKey ? 'pinned' : m.knownHostsFile ? 'known-hosts' : undefined);
  if (!hostKeyCheck) throw invalid('management.hostKeyCheck', `device ${device.id}: give hostKey (SHA256:...), knownHostsFile, or hostKeyCheck: off`);
  return {
    host: m.host,
    port: m.port,
    username: m.username,
    password: m.password,
    privateKeyFile: m.privateKeyFile,
    hostKeyCheck,
    hostKey: m.hostKey,
    knownHostsFile: m.knownHostsFile,
    ...extra,
  };
}

function dialectOf(device: Device): Dialect {
  if (!device.dialect) throw invalid('dialect', `device ${device.id} has no dialect`);
  return getDialect(device.dialect);
}

export async function withSession<T>(device: Device, fn: (s: NetconfSession) => Promise<T>, extra?: Partial<SessionOptions>): Promise<T> {
  const s = await NetconfSession.open(sessionOptions(device, extra));
  try {
    return await fn(s);
  } finally {
    await op.closeSession(s);
  }
}

/** The native edit that would take the device from `applied` to `desired`; nothing is sent. */
export function renderDiff(device: Device, applied: DeviceConfig, desired: DeviceConfig): string {
  return dialectOf(device).render(diffConfig(applied, desired), { id: device.id, vtep: device.vtep });
}

/** nvo's part of the device's running configuration, native and parsed. */
export async function getRunning(device: Device, extra?: Partial<SessionOptions>): Promise<{ xml: string; config: DeviceConfig }> {
  const dialect = dialectOf(device);
  return withSession(
    device,
    async (s) => {
      const data = await op.getConfig(s, 'running', dialect.filter);
      const xml = data.toString();
      return { xml, config: dialect.parseConfig(xml) };
    },
    extra,
  );
}

export interface CheckResult {
  inSync: boolean;
  /** Desired entries the device lacks. */
  missing: DeviceConfig;
  /** Entries on the device that nvo does not want. */
  extra: DeviceConfig;
  /** Same key, different content. */
  differing: { kind: string; key: string; device: unknown; desired: unknown }[];
}

export function compareConfigs(running: DeviceConfig, desired: DeviceConfig, skip: readonly string[] = []): CheckResult {
  const change = diffConfig(running, desired);
  const result: CheckResult = { inSync: true, missing: normalizeConfig({ ...change.merge }), extra: change.remove, differing: [] };
  for (const kind of ENTRY_KINDS) {
    if (skip.includes(kind)) {
      result.missing[kind] = [];
      result.extra[kind] = [];
      continue;
    }
    const key = entryKey[kind] as (e: unknown) => string;
    const have = new Map((running[kind] as unknown[]).map((e) => [key(e), e]));
    const missing: unknown[] = [];
    for (const want of change.merge[kind] as unknown[]) {
      const cur = have.get(key(want));
      if (cur && stableJson(cur) !== stableJson(want)) result.differing.push({ kind, key: key(want), device: cur, desired: want });
      else missing.push(want);
    }
    (result.missing[kind] as unknown[]) = missing;
  }
  result.inSync = result.differing.length === 0 && ENTRY_KINDS.every((k) => !result.missing[k].length && !result.extra[k].length);
  return result;
}

/** Running vs desired: what is missing, extra or different. */
export async function checkDevice(device: Device, desired: DeviceConfig, extra?: Partial<SessionOptions>): Promise<CheckResult> {
  const { config } = await getRunning(device, extra);
  return compareConfigs(config, normalizeConfig(desired), notRenderedKinds(dialectOf(device)));
}

/** Applies one change (the sync job's call). */
export async function applyToDevice(device: Device, change: DeviceChange, o: Partial<ApplyOptions> = {}, extra?: Partial<SessionOptions>): Promise<ApplyResult> {
  const dialect = dialectOf(device);
  return withSession(device, (s) => applyDeviceChange(s, change, { dialect, device: { id: device.id, vtep: device.vtep }, ...o }), extra);
}
