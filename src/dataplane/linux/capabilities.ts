// What this kernel can build, found by trying it inside the namespace rather than assumed: kernels
// without CONFIG_VLAN_8021Q or CONFIG_NET_VRF (like the lab machines) answer "Unknown device type".
import { CommandError, type CommandRunner } from './command-runner.ts';

export interface Capabilities {
  vrf: boolean;
  vlan8021q: boolean;
}

// Probe devices carry the nvo prefix but never our mark, and live for one command pair.
const PROBE_VRF = 'nvoprobevrf';
const PROBE_VLAN = 'nvoprobeq';

async function probe(run: CommandRunner, args: string[], name: string): Promise<boolean> {
  try {
    await run.run({ tool: 'ip', args: ['link', 'add', ...args] });
  } catch (e) {
    if (e instanceof CommandError && /unknown device type|not supported/i.test(e.stderr)) return false;
    throw e;
  }
  await run.run({ tool: 'ip', args: ['link', 'del', 'dev', name] });
  return true;
}

/** `trunk`: the device VLAN sub-interfaces would hang off; 802.1Q is only probed when there is one. */
export async function detectCapabilities(run: CommandRunner, trunk?: string): Promise<Capabilities> {
  const vrf = await probe(run, [PROBE_VRF, 'type', 'vrf', 'table', '4093'], PROBE_VRF);
  const vlan8021q = trunk ? await probe(run, ['link', trunk, 'name', PROBE_VLAN, 'type', 'vlan', 'id', '4094'], PROBE_VLAN) : false;
  return { vrf, vlan8021q };
}
