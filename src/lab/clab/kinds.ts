// THE table of containerlab kinds nvo understands: kind (and containerlab's aliases for it) → how
// nvo drives the node. Dialect names are checked against the NETCONF dialect registry, so the
// table cannot name a dialect nvo does not have. Credentials are the ones containerlab sets up for
// the kind (its nodes/<kind> registration); NETCONF listens on 830 in both kinds' default configs.
import { NvoError } from '../../errors.ts';
import { dialectNames } from '../../drivers/netconf/dialects/registry.ts';

export interface ClabKind {
  /** What a device of this kind is driven by: NETCONF with a dialect, or XMPP through a gateway agent in a linux container. */
  driver: 'netconf' | 'xmpp';
  dialect?: string;
  credentials?: { username: string; password: string };
  vendor: string;
  /** A linux container may also be a hypervisor running the hNVE agent. */
  hnve: boolean;
}

const SR_LINUX: ClabKind = { driver: 'netconf', dialect: 'srlinux', credentials: { username: 'admin', password: 'NokiaSrl1!' }, vendor: 'Nokia SR Linux', hnve: false };
const CEOS: ClabKind = { driver: 'netconf', dialect: 'openconfig', credentials: { username: 'admin', password: 'admin' }, vendor: 'Arista cEOS', hnve: false };
const LINUX: ClabKind = { driver: 'xmpp', vendor: 'Linux container (gateway agent or hNVE agent)', hnve: true };

export const CLAB_KINDS: Readonly<Record<string, ClabKind>> = {
  nokia_srlinux: SR_LINUX,
  srl: SR_LINUX,
  arista_ceos: CEOS,
  ceos: CEOS,
  linux: LINUX,
};

export const NETCONF_PORT = 830;

export function supportedKinds(): string[] {
  return Object.keys(CLAB_KINDS).sort();
}

/** Go's %q of a []string, as containerlab prints its list of kinds. */
const goQuoted = (names: string[]) => `[${names.map((n) => JSON.stringify(n)).join(' ')}]`;

/** The kind's entry; an unknown kind is refused the way containerlab refuses it. */
export function clabKind(kind: string): ClabKind | string {
  const k = Object.hasOwn(CLAB_KINDS, kind) ? CLAB_KINDS[kind] : undefined;
  if (!k) return `kind ${JSON.stringify(kind)} is not supported. Supported kinds are ${goQuoted(supportedKinds())}`;
  return k;
}

/** Every dialect the table names is one the registry has; an `internal` error otherwise (a bug, not input). */
export function checkKindTable(): void {
  const known = dialectNames();
  for (const [kind, k] of Object.entries(CLAB_KINDS)) {
    if (k.dialect !== undefined && !known.includes(k.dialect)) {
      throw new NvoError('internal', `containerlab kind ${kind} maps to dialect '${k.dialect}', which the registry does not have (${known.join(', ')})`);
    }
  }
}
