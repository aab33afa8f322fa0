// nvo device get|check — what a device really has: nvo's part of its running configuration, and how
// it differs from what nvo wants there (desired state). Read-only; nothing is sent but reads.
import type { Command } from 'commander';
import { NvoError, notFound } from '../../errors.ts';
import { ENTRY_KINDS, type DeviceConfig } from '../../model/device-config.ts';
import type { Device } from '../../model/device.ts';
import type { CheckResult } from '../../drivers/netconf/device-ops.ts';
import type { CliContext } from '../context.ts';
import { DeviceStateStore } from '../../store/device-state.ts';

/** Reads the device through its own driver: NETCONF get-config, or the gateway agent's state over XMPP. */
async function readDevice(device: Device, states: DeviceStateStore): Promise<{ config: DeviceConfig; native?: string; skip: readonly string[] }> {
  if (device.driver === 'netconf') {
    const { getRunning } = await import('../../drivers/netconf/device-ops.ts');
    const { getDialect } = await import('../../drivers/netconf/dialects/registry.ts');
    const { notRenderedKinds } = await import('../../drivers/netconf/dialects/dialect.ts');
    const { xml, config } = await getRunning(device);
    return { config, native: xml, skip: notRenderedKinds(getDialect(device.dialect!)) };
  }
  const { xmppLoginFromEnv } = await import('../../pipeline/drivers.ts');
  const login = xmppLoginFromEnv();
  if (!login) throw new NvoError('invalid-input', `device ${device.id} is reached over XMPP: set NVO_XMPP_SERVICE, NVO_XMPP_JID and NVO_XMPP_PASSWORD (the controller's login) to read it`);
  const { XmppDriver } = await import('../../drivers/xmpp/xmpp-driver.ts');
  // A resource of its own: the running controller keeps its session (same full JID would kick it).
  const jid = `${login.jid.split('/')[0]}/cli-${process.pid}`;
  const driver = new XmppDriver({ ...login, jid, store: states, deviceByJid: () => undefined });
  await driver.start();
  try {
    return { config: (await driver.state(device as Device & { jid: string })).config, skip: [] };
  } finally {
    await driver.stop();
  }
}

function summary(r: CheckResult): string[] {
  const lines: string[] = [];
  for (const kind of ENTRY_KINDS) {
    for (const e of r.missing[kind]) lines.push(`missing   ${kind} ${JSON.stringify(e)}`);
    for (const e of r.extra[kind]) lines.push(`extra     ${kind} ${JSON.stringify(e)}`);
  }
  for (const d of r.differing) lines.push(`differs   ${d.kind} ${d.key}: device ${JSON.stringify(d.device)}, nvo wants ${JSON.stringify(d.desired)}`);
  return lines;
}

export function registerDeviceRead(program: Command, ctx: CliContext): void {
  const group = program.commands.find((c) => c.name() === 'device') ?? program.command('device').description('devices');

  group
    .command('get <id>')
    .description("nvo's part of the device's running configuration (native XML for NETCONF devices)")
    .option('--json', 'the vendor-neutral configuration instead')
    .action(async (id: string, opts: { json?: boolean }) => {
      const inventory = await ctx.store();
      const device = await inventory.get('device', id);
      if (!device) throw notFound('device', id);
      const got = await readDevice(device, new DeviceStateStore(inventory.redis, inventory.k));
      if (opts.json || !got.native) return ctx.json(got.config);
      ctx.print(got.native);
    });

  group
    .command('check <id>')
    .description('running vs desired: what is missing, extra or different on the device (exit 1 when out of sync)')
    .option('--json', 'machine-readable result')
    .action(async (id: string, opts: { json?: boolean }) => {
      const inventory = await ctx.store();
      const device = await inventory.get('device', id);
      if (!device) throw notFound('device', id);
      const { compareConfigs } = await import('../../drivers/netconf/device-ops.ts');
      const states = new DeviceStateStore(inventory.redis, inventory.k);
      const desired = await states.desired(id);
      const got = await readDevice(device, states);
      const r = compareConfigs(got.config, desired.config, got.skip);
      if (opts.json) ctx.json({ device: id, desiredRevision: desired.revision, ...r });
      else if (r.inSync) ctx.print(`${id}: in sync with desired revision ${desired.revision}`);
      else ctx.print([`${id}: OUT OF SYNC with desired revision ${desired.revision}`, ...summary(r).map((l) => `  ${l}`)].join('\n'));
      if (!r.inSync) process.exitCode = 1;
    });
}
