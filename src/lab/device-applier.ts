// The lab device applier: netconfd is only a management plane, so a NETCONF lab device is netconfd
// plus this process, which follows the device's running configuration and makes the device's
// namespace forward accordingly — a commit really changes bridges, VXLAN devices and fdb entries.
//
// It polls get-config of nvo's subtree (one small RPC on a kept session; netconfd would also send
// RFC 6470 netconf-config-change notifications, but a 250 ms poll is simpler to make robust across
// session loss and is cheap next to a commit) and reconciles the namespace when the reply changes,
// and every few seconds anyway, so a namespace rebuilt under it or changed by hand is repaired.
import { writeFileSync } from 'node:fs';
import { ENTRY_KINDS, type DeviceChange, type DeviceConfig } from '../model/device-config.ts';
import { getDialect } from '../drivers/netconf/dialects/registry.ts';
import * as op from '../drivers/netconf/operations.ts';
import { NetconfSession } from '../drivers/netconf/rpc.ts';
import type { SessionOptions } from '../drivers/netconf/rpc.ts';
import { LinuxDataPlane } from '../dataplane/linux/linux-data-plane.ts';
import { vrfDeviceName } from '../dataplane/linux/names.ts';
import { sleep } from './supervisor.ts';

export interface ApplierConfig {
  device: string;
  netns: string;
  vtep: string;
  dialect: string;
  session: SessionOptions;
  /** Host ports on this device: an access port into a VNI's segment, or a routed link into a VRF. */
  attachments: { port: string; vni?: number; vrf?: string }[];
  readyFile: string;
  pollMs?: number;
  resyncMs?: number;
}

export interface ApplierStatus {
  device: string;
  appliedAt: string;
  entries: Record<string, number>;
  applies: number;
}

export async function runDeviceApplier(c: ApplierConfig): Promise<void> {
  const dialect = getDialect(c.dialect);
  const dp = new LinuxDataPlane({ netns: c.netns, localVtep: c.vtep });
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} applier ${c.device}: ${line}\n`);
  let stopping = false;
  let session: NetconfSession | null = null;
  const stop = () => {
    stopping = true;
    if (session) void op.closeSession(session, 1_000).catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let lastXml = '';
  let lastSync = 0;
  let applies = 0;
  while (!stopping) {
    try {
      session ??= await NetconfSession.open({ ...c.session, rpcTimeoutMs: 10_000 });
      const xml = (await op.getConfig(session, 'running', dialect.filter)).toString();
      if (xml !== lastXml || Date.now() - lastSync > (c.resyncMs ?? 5_000)) {
        const config = dialect.parseConfig(xml);
        const change = await dp.reconcile(config);
        await attach(dp, c, config);
        if (xml !== lastXml || !isEmpty(change)) log(`${xml === lastXml ? 'repaired' : 'applied'} ${summary(change)}`);
        lastXml = xml;
        lastSync = Date.now();
        applies++;
        const status: ApplierStatus = { device: c.device, appliedAt: new Date().toISOString(), entries: Object.fromEntries(ENTRY_KINDS.map((k) => [k, config[k].length])), applies };
        writeFileSync(c.readyFile, JSON.stringify(status));
      }
    } catch (e) {
      if (stopping) break;
      log(`${(e as Error).message}; retrying`);
      if (session) await op.closeSession(session, 1_000).catch(() => undefined);
      session = null;
      await sleep(1_000);
    }
    await sleep(c.pollMs ?? 250);
  }
}

// The host ports the topology hangs on this device follow the configuration: an access port sits in
// its VNI's segment while the VNI is configured; a WAN link joins its VRF where the kernel has VRFs
// (without them, routes stay in the main table and the link routes as it is).
export type AttachPlane = Pick<LinuxDataPlane, 'readPorts' | 'attachPort' | 'detachPort' | 'capabilities'> & { runner: Pick<LinuxDataPlane['runner'], 'run'> };

export async function attach(dp: AttachPlane, c: Pick<ApplierConfig, 'attachments'>, config: DeviceConfig): Promise<void> {
  const vnis = new Set(config.vnis.map((v) => v.vni));
  const inSegment = new Map((await dp.readPorts()).map((p) => [p.port, p.vni]));
  for (const a of c.attachments) {
    if (a.vni !== undefined) {
      if (vnis.has(a.vni) && inSegment.get(a.port) !== a.vni) await dp.attachPort({ port: a.port, vni: a.vni });
      else if (!vnis.has(a.vni) && inSegment.has(a.port)) await dp.detachPort(a.port);
    } else if (a.vrf && (await dp.capabilities()).vrf && config.vrfs.some((v) => v.name === a.vrf)) {
      await dp.runner.run({ tool: 'ip', args: ['link', 'set', 'dev', a.port, 'master', vrfDeviceName(a.vrf)] });
    }
  }
}

function isEmpty(ch: DeviceChange): boolean {
  return ENTRY_KINDS.every((k) => ch.merge[k].length === 0 && ch.remove[k].length === 0);
}

function summary(ch: DeviceChange): string {
  const parts = ENTRY_KINDS.flatMap((k) => [
    ...(ch.merge[k].length ? [`+${ch.merge[k].length} ${k}`] : []),
    ...(ch.remove[k].length ? [`-${ch.remove[k].length} ${k}`] : []),
  ]);
  return parts.length ? parts.join(', ') : 'nothing to change';
}
