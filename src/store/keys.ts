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
    /** Sorted set owner → seq of the same contributions: a sync reads only those newer than it applied. */
    deviceContribSeq: (device: string) => `${prefix}dev:contrib-seq:${device}`,
    /** Hash: desiredRev, reshapedRev (device-state.ts), appliedRev, applied (JSON), lastSyncAt, syncing, lastError, lastCommitAt, commits, reachedAt/reachedVia (the device answered). */
    deviceState: (device: string) => `${prefix}dev:state:${device}`,
    /** Set of the devices that have any state. */
    deviceIndex: `${prefix}dev:index`,
    /** Pub/sub channel: `device revision` each time a device records an applied revision. */
    deviceApplied: `${prefix}dev:applied`,
    /** Pipeline: fenced per-device sync lock (value = fence token) and the counter that issues tokens;
     *  the counter also names the one waiting sync job per device (`sync.<device>.<epoch>`). */
    syncLock: (device: string) => `${prefix}dev:sync:lock:${device}`,
    syncEpoch: (device: string) => `${prefix}dev:sync:epoch:${device}`,
    /** Hash owner → JSON {seq, code, message, …}: contributions a device refused, left out of its syncs. */
    syncQuarantine: (device: string) => `${prefix}dev:sync:quarantine:${device}`,
    /** JSON {revision, code, message, …}: the last permanent failure no single owner could be blamed for. */
    syncFailure: (device: string) => `${prefix}dev:sync:failure:${device}`,
    /** Set of devices whose next sync reads the device back first (drift repair). */
    syncRepair: `${prefix}dev:sync:repair`,
    /** Pub/sub channel: `device revision` each time a sync fails permanently (details in the keys above). */
    deviceSyncFailed: `${prefix}dev:sync-failed`,
    /** BullMQ's own prefix, so its keys sit under ours too. */
    bullPrefix: `${prefix}bull`,
    /** hNVEs as the admin provisions them (use case 3): hash id → JSON with the NVE's secret. */
    hnves: `${prefix}inv:hnve`,
    /** Hash vtepKey(vtep) → `device:<id>` | `hNVE:<id>`: who owns each VTEP, kept in the MULTI of every
     *  device and hNVE write (vtep-owners.ts); field `!built` marks it complete (with a rebuild's report). */
    vtepIndex: `${prefix}inv:vtep-owner`,
    /** Messaging, transient (every key has a TTL): digest nonces → last nonce-count, transaction records, CSeq per call. */
    msgNonce: (nonce: string) => `${prefix}msg:nonce:${nonce}`,
    msgTx: (from: string, tid: string) => `${prefix}msg:tx:${from}:${tid}`,
    msgCseq: (from: string, callId: string) => `${prefix}msg:cseq:${from}:${callId}`,
    /** Tenant proxy: the lease and the last executed CSeq of a call's in-dialog requests (call-order.ts). */
    msgOrder: (from: string, callId: string) => `${prefix}msg:order:${from}:${callId}`,
    /** Pub/sub channel of one proxy process: requests to push to the NVEs connected to it. */
    msgDeliver: (proc: string) => `${prefix}msg:deliver:${proc}`,
    /** Registrar: hash per NVE (expires with the registration); zset NVE → expiry ms, reaped after the grace period. */
    registration: (nve: string) => `${prefix}reg:nve:${nve}`,
    registrationExpiry: `${prefix}reg:expiry`,
    /** Tenant-proxy sessions: hash per call id; set of call ids per NVE; set of all. */
    session: (callId: string) => `${prefix}sess:${callId}`,
    sessionsOfNve: (nve: string) => `${prefix}sess:nve:${nve}`,
    sessionIndex: `${prefix}sess:index`,
    /** Network proxy: what one proxy did for a session (devices, allocations), to undo on BYE/CANCEL. */
    branch: (proxy: string, callId: string) => `${prefix}np:branch:${proxy}:${callId}`,
    branchCancelled: (callId: string) => `${prefix}np:cancel:${callId}`,
    /** Lease (with a TTL) held while an INVITE runs in a live process: an unanswered branch without one is an orphan. */
    branchLive: (proxy: string, callId: string) => `${prefix}np:live:${proxy}:${callId}`,
    /** Zset call id → start ms of one proxy's branches that have no answer yet; swept for orphans. */
    branchPending: (proxy: string) => `${prefix}np:pending:${proxy}`,
    branchUndoLock: (proxy: string, callId: string) => `${prefix}np:undo:${proxy}:${callId}`,
    /** VNI membership per CID: hash MAC → JSON {vtep, nve, callId, pod, encapsulation}; set of CIDs with members. */
    vniMembers: (cid: string) => `${prefix}np:members:${cid}`,
    vniMemberIndex: `${prefix}np:members-index`,
    /** The VNI plane per CID (membership.ts): the table's revision counter, its numbered change log
     *  (zset), the joining VTEPs (set), the highest revision handed to the fan-out, NVE → acked revision. */
    vniRev: (cid: string) => `${prefix}np:vni:rev:${cid}`,
    vniLog: (cid: string) => `${prefix}np:vni:log:${cid}`,
    vniFloods: (cid: string) => `${prefix}np:vni:floods:${cid}`,
    vniFanout: (cid: string) => `${prefix}np:vni:fanout:${cid}`,
    vniAck: (cid: string) => `${prefix}np:vni:ack:${cid}`,
    /** REFER (proxy/tenant/refer.ts): hash of one move (source, target, requester, plan, phase, state,
     *  status, reason, the target's ack, and while it runs its lease: holder, until); the channel every
     *  tenant proxy process hears the admin's moves on; one move's progress. */
    refer: (referId: string) => `${prefix}refer:${referId}`,
    referRequests: `${prefix}refer:requests`,
    referProgress: (referId: string) => `${prefix}refer:progress:${referId}`,
    /** Set of the moves that have not ended (running, or waiting for a sweep to recover them), and per
     *  hNVE the move it takes part in (source or target): one move at a time per hNVE (refer-ledger.ts). */
    referActive: `${prefix}refer:active`,
    referBusy: (nve: string) => `${prefix}refer:busy:${nve}`,
  };
}

export type Keys = ReturnType<typeof keys>;
