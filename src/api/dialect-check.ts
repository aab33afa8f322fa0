// Dialect names are checked here, above the store: the registry lives with the NETCONF driver, and
// the store (below it) must not import a driver. The store runs this rule through its deviceRules hook.
import type { FieldIssue } from '../errors.ts';
import type { Device } from '../model/device.ts';
import { dialectNames } from '../drivers/netconf/dialects/registry.ts';

export function dialectIssues(device: Device): FieldIssue[] {
  if (device.driver !== 'netconf' || device.dialect === undefined) return [];
  const names = dialectNames();
  return names.includes(device.dialect) ? [] : [{ field: 'dialect', reason: `unknown dialect '${device.dialect}'; one of ${names.join(', ')}` }];
}
