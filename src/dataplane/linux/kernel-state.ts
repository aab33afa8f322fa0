// One snapshot of what the kernel has, read with three `-json` dumps (links, addresses, fdb), and
// the part of it nvo owns: devices carrying our mark, the fdb entries and addresses on them, and the
// foreign ports plugged into our bridges.
import { emptyConfig, normalizeConfig, type DeviceConfig } from '../../model/device-config.ts';
import type { CommandRunner } from './command-runner.ts';
import { decodeMark, nameForMark, type Mark } from './names.ts';

export interface LinkRow {
  ifname: string;
  ifalias?: string;
  master?: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_data?: Record<string, unknown> };
}
interface AddrRow {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}
export interface FdbRow {
  mac: string;
  ifname: string;
  dst?: string;
  master?: string;
  flags?: string[];
  state?: string;
}

export interface OwnedLink<M extends Mark = Mark> {
  link: LinkRow;
  mark: M;
}

export interface KernelState {
  links: Map<string, LinkRow>;
  vlans: Map<number, OwnedLink<Extract<Mark, { t: 'vlan' }>>>;
  vnis: Map<number, OwnedLink<Extract<Mark, { t: 'vni' }>>>;
  vrfs: Map<string, OwnedLink<Extract<Mark, { t: 'vrf' }>>>;
  trunks: Map<number, OwnedLink<Extract<Mark, { t: 'trunk' }>>>;
  /** Marked devices whose name does not match their mark (renamed out of band): removed on sight. */
  stale: OwnedLink[];
  /** Global-scope addresses ("a/len") per owned bridge, in the kernel's order. */
  addrs: Map<string, string[]>;
  /** Remote entries (with a dst) per owned VXLAN device; what nvo manages there. */
  remotes: Map<string, FdbRow[]>;
  /** The bridge's side of a remote MAC: `master extern_learn` on the owned VXLAN device, nvo's too. */
  bridged: Map<string, FdbRow[]>;
  /** User-added bridge entries on owned VXLAN devices (`master static`): never nvo's, removed by reconcile. */
  strayFdb: FdbRow[];
  /** Devices nvo did not make that sit in an nvo bridge: the VM ports. */
  ports: Map<string, string>;
}

export const ZERO_MAC = '00:00:00:00:00:00';

/** A kernel state with these links and nothing of nvo's read from them yet. */
export function emptyKernelState(links: LinkRow[] = []): KernelState {
  return {
    links: new Map(links.map((l) => [l.ifname, l])),
    vlans: new Map(),
    vnis: new Map(),
    vrfs: new Map(),
    trunks: new Map(),
    stale: [],
    addrs: new Map(),
    remotes: new Map(),
    bridged: new Map(),
    strayFdb: [],
    ports: new Map(),
  };
}

export async function readKernel(run: CommandRunner): Promise<KernelState> {
  const links = await run.json<LinkRow>('ip', ['-details', 'link', 'show']);
  const addrRows = await run.json<AddrRow>('ip', ['address', 'show']);
  const fdbRows = await run.json<FdbRow>('bridge', ['fdb', 'show']);

  const s = emptyKernelState(links);
  for (const link of links) {
    const mark = decodeMark(link.ifalias);
    if (!mark) continue;
    if (nameForMark(mark) !== link.ifname) {
      s.stale.push({ link, mark });
      continue;
    }
    if (mark.t === 'vlan') s.vlans.set(mark.id, { link, mark });
    else if (mark.t === 'vni') s.vnis.set(mark.vni, { link, mark });
    else if (mark.t === 'vrf') s.vrfs.set(mark.name, { link, mark });
    else s.trunks.set(mark.vlan, { link, mark });
  }
  const bridges = new Set([...s.vlans.values()].map((o) => o.link.ifname));
  const vxlans = new Set([...s.vnis.values()].map((o) => o.link.ifname));
  for (const link of links) {
    if (link.master && bridges.has(link.master) && !decodeMark(link.ifalias)) s.ports.set(link.ifname, link.master);
  }
  for (const row of addrRows) {
    if (!bridges.has(row.ifname)) continue;
    s.addrs.set(row.ifname, (row.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`));
  }
  for (const row of fdbRows) {
    if (!vxlans.has(row.ifname)) continue;
    if (row.dst !== undefined) {
      const list = s.remotes.get(row.ifname) ?? [];
      list.push(row);
      s.remotes.set(row.ifname, list);
    } else if (row.master !== undefined && row.flags?.includes('extern_learn')) {
      const list = s.bridged.get(row.ifname) ?? [];
      list.push(row);
      s.bridged.set(row.ifname, list);
    } else if (row.master !== undefined && row.state === 'static') {
      s.strayFdb.push(row);
    }
  }
  return s;
}

/** The vendor-neutral view of the owned part: what `read()` returns. */
export function configOf(s: KernelState): DeviceConfig {
  const c = emptyConfig();
  for (const { mark } of s.vrfs.values()) c.vrfs.push({ name: mark.name, rd: mark.rd, importTargets: mark.importTargets, exportTargets: mark.exportTargets });
  for (const { link, mark } of s.vlans.values()) {
    c.vlans.push({ id: mark.id, name: mark.name });
    const address = s.addrs.get(link.ifname)?.[0];
    if (mark.irbVrf !== undefined && address !== undefined) c.irbs.push({ vlan: mark.id, vrf: mark.irbVrf, address });
  }
  for (const { link, mark } of s.vnis.values()) {
    const { t: _t, ...vni } = mark;
    c.vnis.push(vni);
    for (const r of s.remotes.get(link.ifname) ?? []) {
      if (r.mac === ZERO_MAC) c.floods.push({ vni: mark.vni, vtep: r.dst! });
      else c.macs.push({ vni: mark.vni, mac: r.mac, vtep: r.dst! });
    }
  }
  return normalizeConfig(c);
}
