// Every Redis key nvo uses, in one file, so the layout can be read (and documented) at a glance.
// For Redis Cluster, give a prefix with a hash tag (`{nvo}:`) so multi-key scripts stay in one slot.

export type InventoryKind = 'tenant' | 'device' | 'pod' | 'vni';

export function keys(prefix: string) {
  return {
    prefix,
    /** Hash id → canonical JSON, one per inventory kind. */
    inventory: (kind: InventoryKind) => `${prefix}inv:${kind}`,
    settings: `${prefix}inv:settings`,
    /** Bitmap of VLANs in use in one pool (`pod:<id>` or `dev:<id>`). */
    vlanUsed: (pool: string) => `${prefix}alloc:vlan:used:${pool}`,
    /** Hash of one (CID, pod) VLAN binding: vlan, pools. */
    vlanBinding: (cid: string, pod: string) => `${prefix}alloc:vlan:bind:${cid}:${pod}`,
    /** Set of the users (sessions/VMs) holding a (CID, pod) VLAN. */
    vlanUsers: (cid: string, pod: string) => `${prefix}alloc:vlan:users:${cid}:${pod}`,
    vniUsed: `${prefix}alloc:vni:used`,
    vniByCid: `${prefix}alloc:vni:cid`,
    groupUsed: (device: string) => `${prefix}alloc:group:used:${device}`,
    groupByCid: (device: string) => `${prefix}alloc:group:cid:${device}`,
    groupUsers: (device: string, cid: string) => `${prefix}alloc:group:users:${device}:${cid}`,
    /** Hash owner → {seq, config}: what each session/binding wants on one device. */
    deviceContrib: (device: string) => `${prefix}dev:contrib:${device}`,
    /** Hash: desiredRev, appliedRev, applied (JSON), syncState, lastError, lastCommitAt, commits. */
    deviceState: (device: string) => `${prefix}dev:state:${device}`,
    /** Set of the devices that have any state. */
    deviceIndex: `${prefix}dev:index`,
    /** Pub/sub channel: `device revision` each time a device records an applied revision. */
    deviceApplied: `${prefix}dev:applied`,
  };
}

export type Keys = ReturnType<typeof keys>;
