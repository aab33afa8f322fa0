// The lab's topology file (lab/topology.yaml): what only the lab has — underlay, hypervisors, VMs,
// legacy and WAN hosts — on top of the nvo inventory it names, which it is checked against. Errors
// name the field and the reason, before anything on the machine is touched.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { invalid, type FieldIssue } from '../errors.ts';
import { inventorySchema, type Inventory } from '../model/inventory.ts';
import { cidrContains, ipToBigInt, normalizeMac, parseCidr, type Cidr } from '../model/net.ts';
import { invalidInput, parseInput } from '../model/validate.ts';

// Short ids: namespaces are <name>-<id> and interface names (15 chars) are built from them.
const labId = z.string().regex(/^[a-z][a-z0-9]{0,9}$/, 'must be 1-10 lowercase letters or digits, starting with a letter');
const ipv4 = z.string().refine((s) => ipToBigInt(s)?.bits === 32, 'must be an IPv4 address');
const ifaceCidr = z.string().refine((s) => typeof parseCidr(s, { hostBitsAllowed: true }) !== 'string' && s.includes('.'), 'must be an IPv4 address with prefix, e.g. 192.0.2.11/25');
const mac = z.string().refine((s) => normalizeMac(s) !== null, 'must be a MAC address like 02:00:00:00:01:01');

const vmSchema = z.strictObject({ id: labId, cid: z.string().min(1), mac, address: ifaceCidr });

export const topologySchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9]{0,7}$/, 'must be 1-8 lowercase letters or digits (the namespace prefix)'),
  inventory: z.string().min(1),
  xmpp: z.strictObject({ domain: z.string().regex(/^[a-z0-9.-]+$/, 'must be a domain name'), controller: z.string().regex(/^[a-z0-9._-]+$/, 'must be an XMPP local part') }),
  underlay: z.strictObject({ links: z.string() }),
  devices: z.array(labId).min(1),
  hypervisors: z
    .array(z.strictObject({ id: labId, pod: z.string().min(1), vtep: ipv4, vms: z.array(vmSchema).default([]) }))
    .default([]),
  hosts: z
    .array(
      z.strictObject({
        id: labId,
        behind: labId,
        cid: z.string().min(1).optional(),
        /** Legacy host: its access port joins this VNI's segment on the device. */
        vni: z.number().int().min(1).max(16_777_215).optional(),
        /** WAN host: routed through this VRF on the device (a kernel VRF where the kernel has one). */
        vrf: z.string().min(1).optional(),
        mac,
        address: ifaceCidr,
        /** The device's own address on a routed (WAN) link. */
        gateway: ifaceCidr.optional(),
      }),
    )
    .default([]),
});
export type TopologyFile = z.output<typeof topologySchema>;

export interface Topology extends TopologyFile {
  file: string;
  inventoryFile: string;
  inventoryDoc: Record<string, unknown>;
  inv: Inventory;
}

export function loadTopology(file: string, nameOverride?: string): Topology {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw invalid('topology', `${path}: ${(e as Error).message}`);
  }
  if (nameOverride !== undefined && raw && typeof raw === 'object') (raw as Record<string, unknown>).name = nameOverride;
  const t = parseInput(topologySchema, raw, 'topology');
  const inventoryFile = resolve(dirname(path), t.inventory);
  let inventoryDoc: Record<string, unknown>;
  try {
    inventoryDoc = parse(readFileSync(inventoryFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw invalid('inventory', `${inventoryFile}: ${(e as Error).message}`);
  }
  const inv = parseInput(inventorySchema, inventoryDoc, 'inventory');
  const issues = topologyIssues(t, inv);
  if (issues.length) throw invalidInput('topology', issues);
  return { ...t, file: path, inventoryFile, inventoryDoc, inv };
}

/** The rules that tie the topology to its inventory and keep the lab's names and addresses apart. */
export function topologyIssues(t: TopologyFile, inv: Inventory): FieldIssue[] {
  const out: FieldIssue[] = [];
  const add = (field: string, reason: string) => out.push({ field, reason });
  const devices = new Map(inv.devices.map((d) => [d.id, d]));
  const tenants = new Map(inv.tenants.map((x) => [x.cid, x]));
  const pods = new Set(inv.pods.map((p) => p.id));
  const ids = new Map<string, string>();
  const claim = (id: string, field: string) => {
    if (id === 'core') add(field, `'core' is the underlay router's namespace`);
    const first = ids.get(id);
    if (first) add(field, `id ${id} is already used by ${first}`);
    else ids.set(id, field);
  };
  const links = parseCidr(t.underlay.links);
  if (typeof links === 'string') add('underlay.links', links);
  else if (links.bits !== 32) add('underlay.links', 'must be an IPv4 prefix');
  const vteps = new Map<string, string>();
  const claimVtep = (vtep: string, field: string) => {
    const first = vteps.get(vtep);
    if (first) add(field, `VTEP ${vtep} is already ${first}'s`);
    else vteps.set(vtep, field);
    if (typeof links !== 'string' && cidrContains(links, vtep)) add(field, `VTEP ${vtep} lies inside underlay.links ${t.underlay.links}`);
  };
  t.devices.forEach((id, i) => {
    claim(id, `devices[${i}]`);
    const d = devices.get(id);
    if (!d) return add(`devices[${i}]`, `${id} is not a device of ${t.inventory}`);
    if (d.driver === 'netconf' && d.dialect !== 'nvo3-lab') add(`devices[${i}]`, `${id} has dialect ${d.dialect}; lab devices run netconfd with the nvo3-lab module`);
    if (d.driver === 'xmpp' && !d.jid?.endsWith(`@${t.xmpp.domain}`)) add(`devices[${i}]`, `${id}'s JID ${d.jid} is not on the lab's XMPP domain ${t.xmpp.domain}`);
    claimVtep(d.vtep, `devices[${i}]`);
  });
  t.hypervisors.forEach((h, i) => {
    claim(h.id, `hypervisors[${i}].id`);
    if (!pods.has(h.pod)) add(`hypervisors[${i}].pod`, `${h.pod} is not a pod of ${t.inventory}`);
    claimVtep(h.vtep, `hypervisors[${i}].vtep`);
    h.vms.forEach((vm, j) => {
      const f = `hypervisors[${i}].vms[${j}]`;
      claim(vm.id, `${f}.id`);
      const tenant = tenants.get(vm.cid);
      if (!tenant) return add(`${f}.cid`, `${vm.cid} is not a tenant of ${t.inventory}`);
      inSubnet(vm.address, tenant.subnet, `${f}.address`, add);
    });
  });
  const macs = new Map<string, string>();
  const allMacs = [...t.hypervisors.flatMap((h, i) => h.vms.map((vm, j) => [vm.mac, `hypervisors[${i}].vms[${j}].mac`] as const)), ...t.hosts.map((h, i) => [h.mac, `hosts[${i}].mac`] as const)];
  for (const [m, field] of allMacs) {
    const n = normalizeMac(m) ?? m;
    if (macs.has(n)) add(field, `MAC ${m} is already ${macs.get(n)}'s`);
    else macs.set(n, field);
  }
  t.hosts.forEach((h, i) => {
    const f = `hosts[${i}]`;
    claim(h.id, `${f}.id`);
    if (!t.devices.includes(h.behind)) add(`${f}.behind`, `${h.behind} is not one of the lab's devices`);
    if ((h.vni === undefined) === (h.vrf === undefined)) return add(f, 'give vni (a legacy host on an access port) or vrf (a routed WAN host), one of them');
    if (h.vni !== undefined) {
      if (!h.cid) return add(`${f}.cid`, 'a legacy host needs its tenant (cid)');
      const tenant = tenants.get(h.cid);
      if (!tenant) return add(`${f}.cid`, `${h.cid} is not a tenant of ${t.inventory}`);
      inSubnet(h.address, tenant.subnet, `${f}.address`, add);
      if (h.gateway) add(`${f}.gateway`, 'a legacy host uses its tenant gateway; gateway is for WAN hosts');
    } else {
      if (!h.gateway) return add(`${f}.gateway`, "a WAN host needs the device's address on its link");
      const net = parseCidr(h.address, { hostBitsAllowed: true }) as Cidr;
      if (!cidrContains(net, h.gateway.split('/')[0]!) || h.gateway.split('/')[1] !== h.address.split('/')[1]) add(`${f}.gateway`, `${h.gateway} is not on the host's network ${h.address}`);
      if (h.gateway.split('/')[0] === h.address.split('/')[0]) add(`${f}.gateway`, 'the device and the host need different addresses');
    }
  });
  const nodes = t.devices.length + t.hypervisors.length;
  if (typeof links !== 'string' && links.bits === 32 && 2 ** (32 - links.prefix) < nodes * 4) {
    add('underlay.links', `${t.underlay.links} has room for fewer /30 links than the ${nodes} nodes need`);
  }
  return out;
}

function inSubnet(address: string, subnet: string, field: string, add: (f: string, r: string) => void): void {
  const net = parseCidr(subnet);
  const [ip, len] = address.split('/');
  if (typeof net === 'string' || !cidrContains(net, ip!)) add(field, `${address} is outside the tenant's subnet ${subnet}`);
  else if (Number(len) !== net.prefix) add(field, `${address} should have the tenant subnet's prefix length /${net.prefix}`);
}
