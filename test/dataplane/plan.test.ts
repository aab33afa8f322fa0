// The pure half of the Linux data plane, no root needed: names, marks, validation and the command plan.
import { execFile, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NvoError } from '../../src/errors.ts';
import { emptyConfig, normalizeConfig, type DeviceConfig } from '../../src/model/device-config.ts';
import { CommandError, CommandRunner, type Command, type CommandResult } from '../../src/dataplane/linux/command-runner.ts';
import { emptyKernelState, type LinkRow } from '../../src/dataplane/linux/kernel-state.ts';
import { LinuxDataPlane } from '../../src/dataplane/linux/linux-data-plane.ts';
import { bridgeName, decodeMark, encodeMark, type Mark, IFNAMSIZ, nameForMark, trunkVlanName, vrfDeviceName, vxlanName, checkIfName } from '../../src/dataplane/linux/names.ts';
import { nameConflicts, plan, type PlanSettings } from '../../src/dataplane/linux/plan.ts';
import { validateChange, validateConfig } from '../../src/dataplane/linux/validate.ts';
import { rejection } from '../support/rejection.ts';

const set: PlanSettings = { localVtep: '203.0.113.1', underlayDev: 'ul0', dstPort: 4789, kernelVrf: false };
const cfg: DeviceConfig = normalizeConfig({
  ...emptyConfig(),
  vlans: [{ id: 10, name: 'a' }],
  vrfs: [{ name: 'red', rd: '65000:1', importTargets: ['65000:1'], exportTargets: ['65000:1'] }],
  vnis: [{ vni: 5010, vlan: 10, encapsulation: 'vxlan' }],
  floods: [{ vni: 5010, vtep: '203.0.113.2' }],
  macs: [{ vni: 5010, mac: '02:00:5e:00:02:02', vtep: '203.0.113.2' }],
  irbs: [{ vlan: 10, vrf: 'red', address: '192.0.2.1/24' }],
});

describe('device names and marks', () => {
  it('fit IFNAMSIZ at the largest keys and are the same every time', () => {
    for (const n of [bridgeName(4094), vxlanName(16_777_215), trunkVlanName(4094), vrfDeviceName('x'.repeat(64))]) {
      expect(n.length).toBeLessThanOrEqual(IFNAMSIZ);
      expect(() => checkIfName(n, 'n')).not.toThrow();
    }
    expect(vrfDeviceName('red')).toBe(vrfDeviceName('red'));
    expect(vrfDeviceName('red')).not.toBe(vrfDeviceName('blue'));
  });

  it('read back the mark they were given and nothing else', () => {
    const m = { t: 'vni' as const, vni: 5010, vlan: 10, encapsulation: 'vxlan' };
    expect(decodeMark(encodeMark(m))).toEqual(m);
    expect(nameForMark(m)).toBe('nvox5010');
    for (const foreign of [undefined, '', 'nvo', 'nvo1 {', 'nvo1 {"t":"other"}', 'my bridge']) expect(decodeMark(foreign)).toBeNull();
  });

  it('refuse interface names that could be read as options or paths', () => {
    for (const bad of ['-n', 'a/b', 'eth0 up', 'x'.repeat(16), '', 'a;b']) expect(() => checkIfName(bad, 'port')).toThrow(NvoError);
  });
});

describe('validation', () => {
  const rules = { localVtep: '203.0.113.1' };
  it('canonicalizes MACs and accepts a consistent config', () => {
    const c = validateConfig({ ...cfg, macs: [{ vni: 5010, mac: '02-00-5E-00-02-02', vtep: '203.0.113.2' }] }, rules);
    expect(c.macs).toEqual([{ vni: 5010, mac: '02:00:5e:00:02:02', vtep: '203.0.113.2' }]);
  });

  it('names the field at fault', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...cfg, vnis: [{ vni: 5010, vlan: 10, encapsulation: 'nvgre' }] }, 'vnis[0].encapsulation', /only vxlan/],
      [{ ...cfg, vnis: [...cfg.vnis, { vni: 5011, vlan: 10, encapsulation: 'vxlan' }] }, 'vnis[1].vlan', /already bound to VNI 5010/],
      [{ ...cfg, floods: [{ vni: 5010, vtep: '203.0.113.1' }] }, 'floods[0].vtep', /local VTEP itself/],
      [{ ...cfg, floods: [{ vni: 5010, vtep: '2001:db8::1' }] }, 'floods[0].vtep', /IPv4/],
      [{ ...cfg, irbs: [{ vlan: 10, vrf: 'blue', address: '192.0.2.1/24' }] }, 'irbs[0].vrf', /not configured/],
      [{ ...cfg, vlans: [{ id: 4095, name: 'a' }] }, 'vlans[0].id', /1\.\.4094/],
      [{ ...cfg, extra: [] }, '', /extra/],
    ];
    for (const [input, field, re] of cases) {
      const err = (() => {
        try {
          validateConfig(input, rules);
        } catch (e) {
          return e as NvoError;
        }
        return null;
      })();
      expect(err?.code, field).toBe('invalid-input');
      expect(err?.issues[0]?.field, JSON.stringify(err?.issues)).toBe(field);
      expect(err?.issues[0]?.reason).toMatch(re);
    }
  });

  it('checks a change against what it leads to', () => {
    const next = validateChange(cfg, { merge: emptyConfig(), remove: { macs: [{ vni: 5010, mac: '02:00:5e:00:02:02' }] } }, rules);
    expect(next.macs).toEqual([]);
    expect(() => validateChange(cfg, { merge: emptyConfig(), remove: { vnis: [{ vni: 5010 }] } }, rules)).toThrow(/floods\[5010\/203.0.113.2\]\.vni: VNI 5010 is not configured/);
  });
});

describe('the command plan', () => {
  it('builds from nothing in dependency order, with nothing through a shell', () => {
    const cmds = plan(cfg, emptyKernelState(), set, { prune: false }).map((c) => [c.tool, ...c.args].join(' '));
    const at = (s: string) => cmds.findIndex((c) => c.startsWith(s));
    expect(cmds).toContain('ip link add nvob10 type bridge');
    expect(cmds).toContain('ip link add nvox5010 type vxlan id 5010 dstport 4789 local 203.0.113.1 dev ul0 nolearning');
    expect(cmds).toContain('ip address add 192.0.2.1/24 dev nvob10');
    expect(cmds).toContain('bridge fdb append 00:00:00:00:00:00 dev nvox5010 dst 203.0.113.2 self permanent');
    expect(cmds).toContain('bridge fdb append 02:00:5e:00:02:02 dev nvox5010 dst 203.0.113.2 self permanent');
    expect(at(`ip link add ${vrfDeviceName('red')}`)).toBeLessThan(at('ip link add nvob10'));
    expect(at('ip link add nvob10')).toBeLessThan(at('ip link add nvox5010'));
    expect(at('ip link set dev nvox5010 master nvob10')).toBeLessThan(at('bridge fdb append'));
    // Without kernel VRFs the VRF is recorded on a bridge that stays down and the IRB bridge is not enslaved.
    expect(cmds).not.toContain(`ip link set dev nvob10 master ${vrfDeviceName('red')}`);
    expect(plan(cfg, emptyKernelState(), { ...set, kernelVrf: true }, { prune: false }).map((c) => c.args.join(' '))).toContain(`link set dev nvob10 master ${vrfDeviceName('red')}`);
  });

  it('leaves foreign devices with nvo-style names alone and says so', () => {
    const s = emptyKernelState([{ ifname: 'nvob10', linkinfo: { info_kind: 'bridge' } }]);
    expect(nameConflicts(cfg, s, set)).toEqual(['nvob10']);
  });
});

// 802.1Q: where the kernel has VLAN devices, each VLAN segment's bridge gets a sub-interface of the
// trunk. The lab machines have no CONFIG_VLAN_8021Q (lab-facts.md), so these commands cannot run
// here; the plan is checked as commands, and the kernel side only for the refusal.
describe('the 802.1Q trunk', () => {
  const trunked: PlanSettings = { ...set, trunk: 'ul0' };
  const line = (c: Command) => [c.tool, ...c.args].join(' ');
  const two = normalizeConfig({ ...cfg, vlans: [...cfg.vlans, { id: 20, name: 'b' }] });

  it('adds one VLAN device per segment on the trunk, marked, in its bridge, up — after the bridge exists', () => {
    const cmds = plan(two, emptyKernelState(), trunked, { prune: false }).map(line);
    const at = (s: string) => cmds.indexOf(s);
    for (const [id, q, br] of [[10, 'nvoq10', 'nvob10'], [20, 'nvoq20', 'nvob20']] as const) {
      expect(cmds.filter((c) => c.startsWith(`ip link add link ul0 name ${q} `))).toEqual([`ip link add link ul0 name ${q} type vlan id ${id}`]);
      expect(cmds).toContain(`ip link set dev ${q} alias ${encodeMark({ t: 'trunk', vlan: id })}`);
      expect(cmds).toContain(`ip link set dev ${q} master ${br}`);
      expect(cmds).toContain(`ip link set dev ${q} up`);
      expect(at(`ip link add ${br} type bridge`)).toBeGreaterThanOrEqual(0);
      expect(at(`ip link add ${br} type bridge`)).toBeLessThan(at(`ip link add link ul0 name ${q} type vlan id ${id}`));
      expect(at(`ip link add link ul0 name ${q} type vlan id ${id}`)).toBeLessThan(at(`ip link set dev ${q} master ${br}`));
    }
    expect(nameConflicts(two, emptyKernelState([{ ifname: 'nvoq20' }]), trunked)).toEqual(['nvoq20']);
    // Without a trunk: no VLAN devices at all (bridge per VLAN, as on this kernel).
    expect(plan(two, emptyKernelState(), set, { prune: false }).map(line).filter((c) => c.includes('type vlan') || c.includes('nvoq'))).toEqual([]);
  });

  it('leaves a matching VLAN device alone, rebuilds one on another trunk, and removes it with its segment or the trunk setting', () => {
    const q = (vlan: number, parent: string, master = bridgeName(vlan)): LinkRow & { link: string } => ({
      ifname: trunkVlanName(vlan),
      ifalias: encodeMark({ t: 'trunk', vlan }),
      master,
      flags: ['UP'],
      link: parent,
      linkinfo: { info_kind: 'vlan', info_data: { id: vlan } },
    });
    const state = (parent: string) => {
      const s = emptyKernelState([q(10, parent)]);
      s.trunks.set(10, { link: q(10, parent), mark: { t: 'trunk', vlan: 10 } as Extract<Mark, { t: 'trunk' }> });
      return s;
    };
    const ours = (cmds: string[]) => cmds.filter((c) => c.includes('nvoq10'));
    expect(ours(plan(cfg, state('ul0'), trunked, { prune: false }).map(line))).toEqual([]);
    expect(ours(plan(cfg, state('eth9'), trunked, { prune: false }).map(line))).toEqual([
      'ip link del dev nvoq10',
      'ip link add link ul0 name nvoq10 type vlan id 10',
      `ip link set dev nvoq10 alias ${encodeMark({ t: 'trunk', vlan: 10 })}`,
      'ip link set dev nvoq10 master nvob10',
      'ip link set dev nvoq10 up',
    ]);
    expect(ours(plan({ ...cfg, vlans: [], vnis: [], floods: [], macs: [], irbs: [] }, state('ul0'), trunked, { prune: false }).map(line))).toEqual(['ip link del dev nvoq10']);
    expect(ours(plan(cfg, state('ul0'), set, { prune: false }).map(line))).toEqual(['ip link del dev nvoq10']);
  });
});

/** Runs every command in a namespace of its own that ends with the command (`unshare -n`): the real kernel's answers, nothing left behind. */
class ThrowawayNamespaceRunner extends CommandRunner {
  override run(command: Command): Promise<CommandResult> {
    this.log.push(command);
    return new Promise((resolve, reject) => {
      execFile('unshare', ['-n', command.tool, ...command.args], { env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
        if (err) reject(new CommandError(command, undefined, typeof err.code === 'number' ? err.code : null, stderr || err.message));
        else resolve({ stdout, stderr });
      });
    });
  }
}

function kernel8021qSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'it needs root to make a throwaway network namespace';
  const r = spawnSync('unshare', ['-n', 'ip', 'link', 'add', 'link', 'lo', 'name', 'nvoprobeq', 'type', 'vlan', 'id', '10'], { encoding: 'utf8' });
  if (r.error) return `unshare does not run here (${r.error.message})`;
  if (r.status === 0) return 'this kernel has 802.1Q, so a trunk is not refused on it';
  return null;
}

describe('a trunk on a kernel without 802.1Q', () => {
  const skip = kernel8021qSkipReason();
  if (skip) console.log(`skipping the kernel half of the trunk refusal: ${skip}`);

  it.skipIf(skip !== null)('is refused before the first change, naming trunk and what to do instead', async () => {
    const runner = new ThrowawayNamespaceRunner();
    const dp = new LinuxDataPlane({ localVtep: '203.0.113.1', trunk: 'lo', runner });
    const err = await rejection(dp.reconcile(cfg), NvoError);
    expect(err.code).toBe('invalid-input');
    expect(err.issues).toEqual([{ field: 'trunk', reason: expect.stringMatching(/no 802\.1Q VLAN devices; leave trunk unset/) }]);
    expect((await dp.capabilities()).vlan8021q).toBe(false);
    // Only reads and the probes ran: the refusal came before the plan.
    const writes = runner.log.map((c) => c.args.join(' ')).filter((a) => !a.startsWith('-json') && !a.includes('nvoprobe'));
    expect(writes).toEqual([]);
    expect(runner.log.map((c) => c.args.join(' '))).toContain('link add link lo name nvoprobeq type vlan id 4094');
  });
});
