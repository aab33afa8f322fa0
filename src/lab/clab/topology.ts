// A containerlab topology file (*.clab.yml), read for what nvo needs from it: the lab name and
// prefix, the management subnet, and each node's kind, group, labels and mgmt-ipv4 after
// containerlab's inheritance (defaults < kinds.<kind> < groups.<group> < node). Everything else is
// containerlab's business and passes untouched, but a near miss of a field nvo reads (`lables:`,
// `mgmt-ip4:`) is an error: it would silently drop every nvo label of the node.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { NvoError } from '../../errors.ts';
import { ipv4 } from '../../model/fields.ts';
import { parseCidr } from '../../model/net.ts';

export type YamlPath = (string | number)[];

export interface ClabIssue {
  path: YamlPath;
  reason: string;
}

const labelValue = z.union([z.string(), z.number()], {
  error: (i) => (typeof i.input === 'boolean' ? 'containerlab labels are strings: quote it ("true")' : 'must be a string'),
});

const nodeFields = {
  kind: z.string().min(1, 'must not be empty').optional(),
  group: z.string().min(1, 'must not be empty').optional(),
  labels: z.record(z.string(), labelValue).optional(),
  'mgmt-ipv4': ipv4.optional(),
};
// `node1:` with nothing under it is a valid node that takes everything from defaults.
const nodeSchema = z.looseObject(nodeFields).nullable();

const ipv4Subnet = z.string().superRefine((s, ctx) => {
  const c = parseCidr(s);
  if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: c });
  else if (c.bits !== 32) ctx.addIssue({ code: 'custom', message: 'must be an IPv4 subnet' });
});

const endpoint = z.union([
  z.string().regex(/^[^:\s]+:\S+$/, 'must be "node:interface"'),
  z.looseObject({ node: z.string().min(1), interface: z.string().optional() }),
]);

const topologySchema = z.looseObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, "_", "-" or "."'),
  prefix: z.string().optional(),
  mgmt: z.looseObject({ network: z.string().optional(), 'ipv4-subnet': ipv4Subnet.optional(), 'ipv4-gw': ipv4.optional() }).optional(),
  topology: z.looseObject({
    defaults: nodeSchema.optional(),
    kinds: z.record(z.string(), nodeSchema).optional(),
    groups: z.record(z.string(), nodeSchema).optional(),
    nodes: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'node names are letters, digits, "_" and "-"'), nodeSchema),
    links: z.array(z.looseObject({ endpoints: z.array(endpoint).min(1).max(2).optional(), endpoint: endpoint.optional() })).optional(),
  }),
});

type RawNode = z.output<typeof nodeSchema>;

/** A node after inheritance; `from` says where each value was written, for error lines. */
export interface ClabNode {
  name: string;
  kind: string | undefined;
  labels: Record<string, string>;
  mgmtIpv4: string | undefined;
  from: { node: YamlPath; kind: YamlPath; labels: Record<string, YamlPath>; mgmtIpv4: YamlPath };
}

export interface ClabTopology {
  file: string;
  name: string;
  /** containerlab names containers `<prefix>-<lab>-<node>`: prefix `clab` unless set, `""` for the bare node name, `__lab-name` for `<lab>-<node>`. */
  prefix: string;
  mgmtSubnet: string | undefined;
  nodes: ClabNode[];
  /** Line of a path in the file: the key of its deepest existing element. */
  lineOf(path: YamlPath): number | null;
}

// Fields nvo reads, and containerlab fields that sit one typo away from them and are not typos.
const READ_FIELDS = {
  top: ['name', 'prefix', 'mgmt', 'topology'],
  mgmt: ['network', 'ipv4-subnet', 'ipv4-gw', 'ipv6-subnet', 'ipv6-gw'],
  topology: ['defaults', 'kinds', 'groups', 'nodes', 'links'],
  node: ['kind', 'group', 'labels', 'mgmt-ipv4', 'mgmt-ipv6', 'image', 'type'],
};

/** Optimal string alignment distance: a swap of two letters counts as one edit. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name `key` is a typo of, or null. */
export function nearMiss(key: string, known: readonly string[]): string | null {
  if (known.includes(key)) return null;
  const limit = key.length <= 5 ? 1 : 2;
  return known.find((k) => editDistance(key.toLowerCase(), k) <= limit) ?? null;
}

function typoIssues(obj: unknown, known: readonly string[], at: YamlPath): ClabIssue[] {
  if (!obj || typeof obj !== 'object') return [];
  return Object.keys(obj).flatMap((key) => {
    const meant = nearMiss(key, known);
    return meant ? [{ path: [...at, key], reason: `unknown field '${key}' (did you mean '${meant}'?)` }] : [];
  });
}

function nodeTypos(raw: Record<string, unknown> | undefined, at: YamlPath): ClabIssue[] {
  return typoIssues(raw, READ_FIELDS.node, at);
}

export function formatYamlPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(p)) out += out ? `.${p}` : p;
    else out += `["${p}"]`;
  }
  return out;
}

function lineFinder(doc: Document, lines: LineCounter): (path: YamlPath) => number | null {
  return (path) => {
    let node: unknown = doc.contents;
    let line: number | null = null;
    const at = (range: readonly number[] | null | undefined) => (range ? lines.linePos(range[0]!).line : null);
    if (node && typeof node === 'object' && 'range' in node) line = at((node as YamlNode).range);
    for (const [i, seg] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        // A path that is not in the file at all (a command-line flag) has no line.
        if (!pair && i === 0) return null;
        if (!pair) break;
        line = isScalar(pair.key) ? (at(pair.key.range) ?? line) : line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg];
        line = at((node as YamlNode).range) ?? line;
      } else break;
    }
    return line;
  };
}

/** One `invalid-input` error for every issue, the message naming the first with `file:line:`. */
export function clabError(file: string, lineOf: (p: YamlPath) => number | null, issues: ClabIssue[]): NvoError {
  const located = issues.map((i) => ({ field: formatYamlPath(i.path), reason: i.reason, line: i.path.length ? lineOf(i.path) : null }));
  const first = located[0]!;
  const more = located.length > 1 ? ` (and ${located.length - 1} more)` : '';
  const where = first.line ? `${file}:${first.line}` : file;
  return new NvoError(
    'invalid-input',
    `${where}: invalid containerlab topology: ${first.field ? `${first.field}: ` : ''}${first.reason}${more}`,
    located.map(({ field, reason }) => ({ field, reason })),
    { file, lines: located.map((l) => l.line) },
  );
}

export function readClabTopology(file: string): ClabTopology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new NvoError('invalid-input', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, [{ field: 'file', reason: 'cannot be read' }]);
  }
  return parseClabTopology(text, file);
}

export function parseClabTopology(text: string, file = '<topology>'): ClabTopology {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = lineFinder(doc, lines);
  const bad = doc.errors[0];
  if (bad) {
    const at = bad.pos ? `:${lines.linePos(bad.pos[0]).line}` : '';
    throw new NvoError('invalid-input', `${file}${at}: not valid YAML: ${bad.message.split('\n')[0]}`, [{ field: 'file', reason: bad.message.split('\n')[0]! }]);
  }
  const raw: unknown = doc.toJS();
  const typos: ClabIssue[] = [];
  if (raw && typeof raw === 'object') {
    const r = raw as Record<string, Record<string, unknown> | undefined>;
    typos.push(...typoIssues(r, READ_FIELDS.top, []), ...typoIssues(r.mgmt, READ_FIELDS.mgmt, ['mgmt']), ...typoIssues(r.topology, READ_FIELDS.topology, ['topology']));
    const t = r.topology as Record<string, Record<string, Record<string, unknown> | undefined> | undefined> | undefined;
    if (t && typeof t === 'object') {
      typos.push(...nodeTypos(t.defaults as Record<string, unknown> | undefined, ['topology', 'defaults']));
      for (const section of ['kinds', 'groups', 'nodes'] as const) {
        for (const [name, n] of Object.entries(t[section] ?? {})) typos.push(...nodeTypos(n, ['topology', section, name]));
      }
    }
  }
  const parsed = topologySchema.safeParse(raw);
  const schemaIssues: ClabIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({
        path: i.path as YamlPath,
        reason: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.message,
      }));
  if (typos.length || !parsed.success) throw clabError(file, lineOf, [...typos, ...schemaIssues]);
  const topo = parsed.data!;
  const t = topo.topology;

  const nodes = Object.entries(t.nodes).map(([name, own]): ClabNode => {
    const nodePath: YamlPath = ['topology', 'nodes', name];
    const group = own?.group;
    const groupNode: RawNode | undefined = group ? t.groups?.[group] : undefined;
    const kind = own?.kind ?? groupNode?.kind ?? t.defaults?.kind;
    const kindFrom: YamlPath = own?.kind ? [...nodePath, 'kind'] : groupNode?.kind ? ['topology', 'groups', group!, 'kind'] : ['topology', 'defaults', 'kind'];
    const layers: [RawNode | undefined, YamlPath][] = [
      [t.defaults, ['topology', 'defaults']],
      [kind ? t.kinds?.[kind] : undefined, ['topology', 'kinds', kind ?? '']],
      [groupNode, ['topology', 'groups', group ?? '']],
      [own, nodePath],
    ];
    const labels: Record<string, string> = {};
    const labelFrom: Record<string, YamlPath> = {};
    for (const [layer, at] of layers) {
      for (const [k, v] of Object.entries(layer?.labels ?? {})) {
        labels[k] = String(v);
        labelFrom[k] = [...at, 'labels', k];
      }
    }
    return {
      name,
      kind,
      labels,
      mgmtIpv4: own?.['mgmt-ipv4'],
      from: { node: nodePath, kind: kindFrom, labels: labelFrom, mgmtIpv4: [...nodePath, 'mgmt-ipv4'] },
    };
  });

  const issues: ClabIssue[] = [];
  for (const n of Object.entries(t.nodes)) {
    const group = n[1]?.group;
    if (group && !t.groups?.[group]) issues.push({ path: ['topology', 'nodes', n[0], 'group'], reason: `node ${n[0]}: no group '${group}' under topology.groups` });
  }
  // containerlab refuses links to nodes it does not know; so do we (host, mgmt-net and macvlan are its special endpoints).
  const names = new Set([...nodes.map((n) => n.name), 'host', 'mgmt-net', 'macvlan']);
  (t.links ?? []).forEach((link, i) => {
    const eps = link.endpoints ?? (link.endpoint ? [link.endpoint] : []);
    eps.forEach((ep, j) => {
      const node = typeof ep === 'string' ? ep.split(':')[0]! : ep.node;
      if (!names.has(node)) issues.push({ path: ['topology', 'links', i, link.endpoints ? 'endpoints' : 'endpoint', ...(link.endpoints ? [j] : [])], reason: `link to unknown node '${node}'` });
    });
  });
  if (issues.length) throw clabError(file, lineOf, issues);

  return { file, name: topo.name, prefix: topo.prefix ?? 'clab', mgmtSubnet: topo.mgmt?.['ipv4-subnet'], nodes, lineOf };
}

/** The name containerlab gives the node's container, which it also writes to the host's /etc/hosts. */
export function containerName(t: Pick<ClabTopology, 'prefix' | 'name'>, node: string): string {
  if (t.prefix === '') return node;
  if (t.prefix === '__lab-name') return `${t.name}-${node}`;
  return `${t.prefix}-${t.name}-${node}`;
}
