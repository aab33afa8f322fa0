// A containerlab topology → nvo's inventory (devices and pods), by the rules in
// lab/containerlab/README.md: the kind picks driver, dialect and credentials (kinds.ts); `nvo.*`
// labels give the rest; pods come from the ToRs' nvo.pod and the gateways. The result passes the
// same checks `nvo apply --dry-run` runs before it reads Redis, and every error names the node, the
// label or field, and the line in the topology file.
import { parse as parseYamlValue } from 'yaml';
import type { z } from 'zod';
import { dialectIssues } from '../../api/dialect-check.ts';
import { deviceSchema, DEVICE_ROLES, type Device } from '../../model/device.ts';
import { hnveSchema } from '../../model/hnve.ts';
import { inventoryIssues, inventorySchema } from '../../model/inventory.ts';
import { cidrContains, parseCidr } from '../../model/net.ts';
import { podSchema, type Pod } from '../../model/pod.ts';
import { checkKindTable, clabKind, NETCONF_PORT } from './kinds.ts';
import { clabError, containerName, nearMiss, type ClabIssue, type ClabNode, type ClabTopology, type YamlPath } from './topology.ts';

/** The labels nvo reads, with what they mean (the README's table says the same). */
export const NVO_LABELS = {
  'nvo.role': 'tor, wan-gw, tor-gw or hnve; a node without it is not nvo\'s and is skipped',
  'nvo.pod': 'the L2 pod of a ToR or an hNVE',
  'nvo.pods': 'comma list of the pods a gateway serves, needed when several gateways share a role',
  'nvo.vtep': 'the VTEP address',
  'nvo.vlans': 'comma list of VLANs and ranges the device may hand out',
  'nvo.ng-mvpn': '"true" for an NG-MVPN capable gateway',
  'nvo.mcast-groups': 'comma list of multicast group pools (with nvo.ng-mvpn)',
  'nvo.encap': 'comma list of encapsulations in priority order',
  'nvo.jid': 'JID of the gateway agent of a linux device (driven over XMPP)',
  'nvo.description': 'free text; default: the kind and the lab',
} as const;
type NvoLabel = keyof typeof NVO_LABELS;
const LABEL_NAMES = Object.keys(NVO_LABELS) as NvoLabel[];

const FIELD_LABEL: Record<string, NvoLabel> = {
  role: 'nvo.role',
  vtep: 'nvo.vtep',
  vlanRanges: 'nvo.vlans',
  ngMvpn: 'nvo.ng-mvpn',
  mcastGroups: 'nvo.mcast-groups',
  encapsulations: 'nvo.encap',
  jid: 'nvo.jid',
  description: 'nvo.description',
  pod: 'nvo.pod',
};

export interface FromClabOptions {
  /** Override every NETCONF device's credentials (the kind's defaults otherwise). */
  username?: string;
  password?: string;
  /** Check host keys against this file; without it hostKeyCheck is off (containerlab makes new keys at every deploy). */
  knownHostsFile?: string;
  /** `node.field=value` (value read as YAML: `830`, `[1-100, 200]`, `true`), applied after the labels. */
  set?: string[];
}

export interface HnveEntry {
  id: string;
  pod: string;
  vtep: string;
  encapsulations: string[];
}

export interface ClabInventory {
  lab: string;
  file: string;
  inventory: { devices: Device[]; pods: Pod[] };
  /** Linux nodes with nvo.role hnve: the inventory has no hNVE kind, they are provisioned in the hNVE store. */
  hnves: HnveEntry[];
  skipped: { node: string; kind: string | undefined; reason: string }[];
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function zodIssues(error: z.ZodError): { path: PropertyKey[]; reason: string }[] {
  return error.issues.map((i) => ({
    // An unknown key belongs to that key (the --set that wrote it), not to the object around it.
    path: i.code === 'unrecognized_keys' ? [...i.path, i.keys[0]!] : i.path,
    reason: i.code === 'unrecognized_keys' ? `unknown field ${i.keys.map((k) => `'${k}'`).join(', ')}` : i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message,
  }));
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let at = obj;
  for (const key of path.slice(0, -1)) {
    if (!at[key] || typeof at[key] !== 'object' || Array.isArray(at[key])) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = value;
}

interface Candidate {
  node: ClabNode;
  value: Record<string, unknown>;
  /** Fields given by --set, with the flag's text. */
  setBy: Map<string, string>;
}

export function inventoryFromClab(t: ClabTopology, opts: FromClabOptions = {}): ClabInventory {
  checkKindTable();
  const issues: ClabIssue[] = [];
  const fail = (path: YamlPath, reason: string) => issues.push({ path, reason });
  const labelPath = (n: ClabNode, label: string): YamlPath => n.from.labels[label] ?? [...n.from.node, 'labels'];

  // Where a schema issue about `field` of node n belongs: the label that gave it, the flag, or the node.
  const locate = (c: Candidate, path: PropertyKey[], reason: string) => {
    const field = String(path[0] ?? '');
    const rest = path.slice(1).map(String);
    const full = [field, ...rest].join('.');
    const flag = [...c.setBy.entries()].find(([f]) => full === f || full.startsWith(`${f}.`) || f.startsWith(`${full}.`));
    if (flag) return fail(['--set'], `--set ${flag[1]}: ${[field, ...rest].join('.')}: ${reason}`);
    const label = FIELD_LABEL[field];
    const n = c.node;
    if (label) {
      const what = reason === 'is required' ? `label ${label} is required` : `label ${label}: ${reason}`;
      return fail(labelPath(n, label), `node ${n.name}: ${what}`);
    }
    if (field === 'management') return fail(n.mgmtIpv4 ? n.from.mgmtIpv4 : n.from.node, `node ${n.name}: management${rest.length ? `.${rest.join('.')}` : ''}: ${reason}`);
    if (field === 'dialect' || field === 'driver') return fail(n.from.kind, `node ${n.name}: ${field}: ${reason}`);
    fail(n.from.node, `node ${n.name}: ${[field, ...rest].join('.')}: ${reason}`);
  };

  const devices: Candidate[] = [];
  const hnves: Candidate[] = [];
  const skipped: ClabInventory['skipped'] = [];
  const seenMgmt = new Map<string, string>();
  // Roles and pods of nodes refused early: their absence must not be reported again as a pod without a gateway.
  const refused = { roles: new Set<string>(), pods: new Set<string>() };
  const refuse = (n: ClabNode, role: string) => {
    refused.roles.add(role);
    if (n.labels['nvo.pod']) refused.pods.add(n.labels['nvo.pod']);
  };
  const mgmtNet = t.mgmtSubnet ? parseCidr(t.mgmtSubnet) : null;

  for (const n of t.nodes) {
    for (const key of Object.keys(n.labels)) {
      if (LABEL_NAMES.includes(key as NvoLabel)) continue;
      const meant = nearMiss(key, LABEL_NAMES);
      if (key.startsWith('nvo.') || meant) fail(labelPath(n, key), `node ${n.name}: unknown label '${key}'${meant ? ` (did you mean '${meant}'?)` : `; nvo reads ${LABEL_NAMES.join(', ')}`}`);
    }
    const role = n.labels['nvo.role'];
    if (role === undefined) {
      const stray = LABEL_NAMES.find((l) => l in n.labels);
      if (stray) fail(labelPath(n, stray), `node ${n.name}: has ${stray} but no nvo.role; give nvo.role (${[...DEVICE_ROLES, 'hnve'].join(', ')})`);
      else skipped.push({ node: n.name, kind: n.kind, reason: 'no nvo.role label' });
      continue;
    }
    if (![...DEVICE_ROLES, 'hnve'].includes(role)) {
      fail(labelPath(n, 'nvo.role'), `node ${n.name}: label nvo.role: '${role}' is not one of ${[...DEVICE_ROLES, 'hnve'].join(', ')}`);
      DEVICE_ROLES.forEach((r) => refuse(n, r));
      continue;
    }
    if (n.kind === undefined) {
      fail(n.from.node, `node ${n.name}: kind is required (on the node, its group or topology.defaults)`);
      refuse(n, role);
      continue;
    }
    const kind = clabKind(n.kind);
    if (typeof kind === 'string') {
      fail(n.from.kind, `node ${n.name}: ${kind}`);
      refuse(n, role);
      continue;
    }
    const get = (label: NvoLabel) => n.labels[label];

    if (role === 'hnve') {
      if (!kind.hnve) fail(labelPath(n, 'nvo.role'), `node ${n.name}: an hNVE runs in a linux container, not kind ${n.kind}`);
      const value: Record<string, unknown> = { id: n.name, pod: get('nvo.pod'), vtep: get('nvo.vtep') };
      if (get('nvo.encap') !== undefined) value.encapsulations = list(get('nvo.encap')!);
      hnves.push({ node: n, value, setBy: new Map() });
      continue;
    }

    const value: Record<string, unknown> = {
      id: n.name,
      role,
      description: get('nvo.description') ?? `${kind.vendor} (containerlab ${t.name}, kind ${n.kind})`,
      driver: kind.driver,
      vtep: get('nvo.vtep'),
    };
    if (kind.driver === 'netconf') {
      if (n.mgmtIpv4 && mgmtNet && typeof mgmtNet !== 'string' && !cidrContains(mgmtNet, n.mgmtIpv4)) {
        fail(n.from.mgmtIpv4, `node ${n.name}: mgmt-ipv4 ${n.mgmtIpv4} is outside the management subnet ${t.mgmtSubnet}`);
      }
      const other = n.mgmtIpv4 ? seenMgmt.get(n.mgmtIpv4) : undefined;
      if (other) fail(n.from.mgmtIpv4, `node ${n.name}: mgmt-ipv4 ${n.mgmtIpv4} is already node ${other}'s`);
      if (n.mgmtIpv4) seenMgmt.set(n.mgmtIpv4, n.name);
      value.dialect = kind.dialect;
      value.management = {
        // Without a fixed address containerlab picks one at deploy time, and writes the container's name to /etc/hosts.
        host: n.mgmtIpv4 ?? containerName(t, n.name),
        port: NETCONF_PORT,
        username: opts.username ?? kind.credentials!.username,
        password: opts.password ?? kind.credentials!.password,
        ...(opts.knownHostsFile ? { hostKeyCheck: 'known-hosts', knownHostsFile: opts.knownHostsFile } : { hostKeyCheck: 'off' }),
      };
    } else {
      value.jid = get('nvo.jid');
    }
    if (get('nvo.vlans') !== undefined) value.vlanRanges = list(get('nvo.vlans')!);
    if (get('nvo.encap') !== undefined) value.encapsulations = list(get('nvo.encap')!);
    if (get('nvo.mcast-groups') !== undefined) value.mcastGroups = list(get('nvo.mcast-groups')!);
    const mvpn = get('nvo.ng-mvpn');
    if (mvpn !== undefined) {
      if (mvpn === 'true' || mvpn === 'false') value.ngMvpn = mvpn === 'true';
      else fail(labelPath(n, 'nvo.ng-mvpn'), `node ${n.name}: label nvo.ng-mvpn: '${mvpn}' must be "true" or "false"`);
    }
    if (role === 'tor' && get('nvo.pod') === undefined) fail(labelPath(n, 'nvo.pod'), `node ${n.name}: label nvo.pod is required on a ToR`);
    if (role !== 'tor' && get('nvo.pod') !== undefined) fail(labelPath(n, 'nvo.pod'), `node ${n.name}: a gateway serves pods without belonging to one; use nvo.pods`);
    if (role === 'tor' && get('nvo.pods') !== undefined) fail(labelPath(n, 'nvo.pods'), `node ${n.name}: nvo.pods is for gateways; a ToR has nvo.pod`);
    if (kind.driver === 'netconf' && get('nvo.jid') !== undefined) fail(labelPath(n, 'nvo.jid'), `node ${n.name}: nvo.jid is for linux devices driven over XMPP; kind ${n.kind} is driven over NETCONF`);
    devices.push({ node: n, value, setBy: new Map() });
  }

  applySets(opts.set ?? [], [...devices, ...hnves], skipped, fail);

  const parsedDevices: Device[] = [];
  for (const c of devices) {
    const r = deviceSchema.safeParse(c.value);
    if (!r.success) zodIssues(r.error).forEach((i) => locate(c, i.path, i.reason));
    else {
      dialectIssues(r.data).forEach((i) => locate(c, i.field.split('.'), i.reason));
      parsedDevices.push(r.data);
    }
  }

  // Pods: every nvo.pod of a ToR, in file order; each with the one gateway of each role that serves it.
  const torsOf = new Map<string, Candidate[]>();
  for (const c of devices) if (c.value.role === 'tor' && c.node.labels['nvo.pod']) torsOf.set(c.node.labels['nvo.pod'], [...(torsOf.get(c.node.labels['nvo.pod']) ?? []), c]);
  const serves = (c: Candidate, pod: string) => c.node.labels['nvo.pods'] === undefined || list(c.node.labels['nvo.pods']).includes(pod);
  for (const c of devices) {
    for (const pod of list(c.node.labels['nvo.pods'] ?? '')) {
      if (!torsOf.has(pod) && !refused.pods.has(pod)) fail(labelPath(c.node, 'nvo.pods'), `node ${c.node.name}: label nvo.pods: no ToR has nvo.pod ${pod}`);
    }
  }
  const pods: Pod[] = [];
  for (const [pod, tors] of torsOf) {
    const at = labelPath(tors[0]!.node, 'nvo.pod');
    const gateway = (role: 'wan-gw' | 'tor-gw') => {
      const all = devices.filter((c) => c.value.role === role);
      const found = all.filter((c) => serves(c, pod));
      if (found.length === 1) return found[0]!.node.name;
      if (found.length === 0 && refused.roles.has(role)) return '';
      if (found.length === 0) fail(at, `pod ${pod} (from node ${tors[0]!.node.name}): no ${role} node serves it${all.length ? `; add ${pod} to nvo.pods of one of ${all.map((c) => c.node.name).join(', ')}` : `; add a node with nvo.role: ${role}`}`);
      else fail(at, `pod ${pod} (from node ${tors[0]!.node.name}): several ${role} nodes serve it (${found.map((c) => c.node.name).join(', ')}); list the pods each serves in nvo.pods`);
      return '';
    };
    const r = podSchema.safeParse({ id: pod, tors: tors.map((c) => c.node.name), wanGateway: gateway('wan-gw'), torGateway: gateway('tor-gw') });
    if (r.success) pods.push(r.data);
    else zodIssues(r.error).forEach((i) => {
      // A third ToR is the one at fault; otherwise the pod label of its first ToR.
      const tor = i.path[0] === 'tors' ? tors[typeof i.path[1] === 'number' ? i.path[1] : tors.length - 1] : undefined;
      if (i.path[0] === 'wanGateway' || i.path[0] === 'torGateway') return; // reported above
      fail(tor ? labelPath(tor.node, 'nvo.pod') : at, `pod ${pod}: ${i.path.join('.') || 'pod'}: ${i.reason}`);
    });
  }

  const hnveEntries: HnveEntry[] = [];
  const hnveSchemaNoSecret = hnveSchema.pick({ id: true, pod: true, vtep: true, encapsulations: true });
  for (const c of hnves) {
    const r = hnveSchemaNoSecret.safeParse(c.value);
    if (!r.success) zodIssues(r.error).forEach((i) => locate(c, i.path, i.reason));
    else if (!torsOf.has(r.data.pod) && !refused.pods.has(r.data.pod)) fail(labelPath(c.node, 'nvo.pod'), `node ${c.node.name}: label nvo.pod: no ToR has nvo.pod ${r.data.pod}`);
    else hnveEntries.push(r.data);
  }

  if (issues.length) throw clabError(t.file, t.lineOf, issues);

  // The whole document, through the checks `nvo apply` makes before it reads Redis (belt and braces:
  // everything above should have caught it with a better line).
  const doc = inventorySchema.safeParse({ devices: parsedDevices, pods });
  const docIssues = doc.success ? inventoryIssues(doc.data) : zodIssues(doc.error).map((i) => ({ field: i.path.join('.'), reason: i.reason }));
  if (docIssues.length) throw clabError(t.file, t.lineOf, docIssues.map((i) => ({ path: [], reason: `inventory ${i.field}: ${i.reason}` })));
  return { lab: t.name, file: t.file, inventory: { devices: parsedDevices, pods }, hnves: hnveEntries, skipped };
}

function applySets(sets: string[], targets: Candidate[], skipped: ClabInventory['skipped'], fail: (p: YamlPath, r: string) => void): void {
  for (const s of sets) {
    const m = /^([^.=]+)\.([A-Za-z][A-Za-z0-9.]*)=(.*)$/s.exec(s);
    if (!m) {
      fail(['--set'], `--set ${s}: must be node.field=value, e.g. tor1.management.port=10830`);
      continue;
    }
    const [, node, field, text] = m as unknown as [string, string, string, string];
    const c = targets.find((x) => x.node.name === node);
    if (!c) {
      const why = skipped.some((x) => x.node === node) ? `node ${node} has no nvo.role, so nvo does not manage it` : `no node ${node} in the topology`;
      fail(['--set'], `--set ${s}: ${why}`);
      continue;
    }
    let value: unknown = text;
    try {
      value = text === '' ? '' : parseYamlValue(text);
    } catch {
      // not YAML: the text itself, which the schema then judges
    }
    setIn(c.value, field.split('.'), value);
    c.setBy.set(field, s);
  }
}
