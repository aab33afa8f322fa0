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
    /** Per pool: hash CID → VLAN, and hash CID → how many (CID, pod) bindings use it. */
    vlanByCid: (pool: string) => `${prefix}alloc:vlan:cid:${pool}`,
    vlanRefs: (pool: string) => `${prefix}alloc:vlan:refs:${pool}`,
    /** Hash of one (CID, pod) VLAN binding: vlan, pools. */
    vlanBinding: (cid: string, pod: string) => `${prefix}alloc:vlan:bind:${cid}:${pod}`,
    /** Set of the users (sessions/VMs) holding a (CID, pod) VLAN. */
    vlanUsers: (cid: string, pod: string) => `${prefix}alloc:vlan:users:${cid}:${pod}`,
    /** Set of the pods where a CID holds a VLAN: a tenant with any is in use. */
    cidPods: (cid: string) => `${prefix}alloc:cid-pods:${cid}`,
    /** Scratch key the allocator's scripts use inside one atomic call. */
    allocScratch: `${prefix}alloc:scratch`,
    /** Bitmap of VNIs in use; hashes CID → VNI and VNI → CID. */
    vniUsed: `${prefix}alloc:vni:used`,
    vniByCid: `${prefix}alloc:vni:cid`,
    vniOwner: `${prefix}alloc:vni:owner`,
    /** Bitmap of group indexes in use on one NG-MVPN gateway; hash CID → group index. */
    groupUsed: (device: string) => `${prefix}alloc:group:used:${device}`,
    groupByCid: (device: string) => `${prefix}alloc:group:cid:${device}`,
    groupOwner: (device: string) => `${prefix}alloc:group:owner:${device}`,
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
