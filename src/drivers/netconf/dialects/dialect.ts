// A dialect's traits: what one family of devices needs beyond its templates. Quirks are hooks the
// apply sequence consults, so framing and RPC code never learn about vendors.
import type { Element } from '@xmldom/xmldom';
import type { DeviceConfig, EntryKind } from '../../../model/device-config.ts';

export interface DialectQuirks {
  /** Send <validate> before the confirmed commit. yuma123 (netconfd 2.13) answers <ok/> to a
   *  commit after a validate but applies nothing — even when another edit-config came in between —
   *  so the lab dialect turns this off (netconfd checks the candidate at every edit-config). */
  validateBeforeCommit: boolean;
}

export interface DialectTraits {
  name: string;
  description: string;
  /** Subtree filter that selects nvo's part of the configuration. */
  filter: string;
  /** Subtree filter that selects just these entries (by their list keys, RFC 6241 §6.2.5 content
   *  match nodes): the read-back after a small change costs the change, not the whole part. */
  filterFor?: (entries: DeviceConfig) => string;
  /** Schema set under ../shared/yang the rendered payloads are checked against in tests. */
  yangSet?: 'openconfig' | 'srlinux';
  /** Entry kinds this dialect does not render, with the reason (most often: the devices learn them
   *  from BGP EVPN instead of configuration). They are neither sent nor compared. */
  notRendered: Partial<Record<EntryKind, string>>;
  quirks: DialectQuirks;
  /** Reads nvo's part of a <data> reply back into a DeviceConfig (read-back and check). */
  parse?: (data: Element) => DeviceConfig;
}

export function notRenderedKinds(d: DialectTraits): EntryKind[] {
  return Object.keys(d.notRendered) as EntryKind[];
}
