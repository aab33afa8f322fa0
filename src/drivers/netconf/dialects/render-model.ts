// What every dialect template renders: a DeviceChange regrouped per VNI, the way most device models
// nest flood lists and MACs, so a template emits one element per VNI (never the same list entry
// twice in one edit).
import type { DeviceChange, DeviceConfig, EntryKind, FloodEntry, MacEntry, VniEntry } from '../../../model/device-config.ts';

export interface DeviceIdentity {
  id: string;
  vtep: string;
}

export interface VniGroup {
  vni: number;
  /** 'merge': the VNI itself is created or changed; 'remove': it goes (entry = what it was); 'none': only children change. */
  op: 'merge' | 'remove' | 'none';
  entry?: VniEntry;
  floods: { merge: FloodEntry[]; remove: FloodEntry[] };
  macs: { merge: MacEntry[]; remove: MacEntry[] };
}

export interface RenderModel {
  device: DeviceIdentity;
  vrfs: { merge: DeviceConfig['vrfs']; remove: DeviceConfig['vrfs'] };
  vlans: { merge: DeviceConfig['vlans']; remove: DeviceConfig['vlans'] };
  irbs: { merge: DeviceConfig['irbs']; remove: DeviceConfig['irbs'] };
  vnis: VniGroup[];
  empty: boolean;
}

export function renderModel(change: DeviceChange, device: DeviceIdentity, skip: readonly EntryKind[] = []): RenderModel {
  const keep = <K extends EntryKind>(k: K) => ({
    merge: skip.includes(k) ? [] : change.merge[k],
    remove: skip.includes(k) ? [] : change.remove[k],
  });
  const groups = new Map<number, VniGroup>();
  const group = (vni: number) => {
    let g = groups.get(vni);
    if (!g) groups.set(vni, (g = { vni, op: 'none', floods: { merge: [], remove: [] }, macs: { merge: [], remove: [] } }));
    return g;
  };
  const vnis = keep('vnis');
  for (const e of vnis.remove) Object.assign(group(e.vni), { op: 'remove', entry: e });
  for (const e of vnis.merge) Object.assign(group(e.vni), { op: 'merge', entry: e });
  for (const kind of ['floods', 'macs'] as const) {
    const k = keep(kind);
    for (const e of k.merge) (group(e.vni)[kind].merge as unknown[]).push(e);
    // Kept even under a removed VNI: models that nest them lose them with the VNI, and "remove"
    // (RFC 6241 §7.2) is no error when the entry is already gone; flat models need them.
    for (const e of k.remove) (group(e.vni)[kind].remove as unknown[]).push(e);
  }
  const model: RenderModel = {
    device,
    vrfs: keep('vrfs'),
    vlans: keep('vlans'),
    irbs: keep('irbs'),
    vnis: [...groups.values()].sort((a, b) => a.vni - b.vni),
    empty: false,
  };
  model.empty = !model.vrfs.merge.length && !model.vrfs.remove.length && !model.vlans.merge.length && !model.vlans.remove.length && !model.irbs.merge.length && !model.irbs.remove.length && !model.vnis.length;
  return model;
}
