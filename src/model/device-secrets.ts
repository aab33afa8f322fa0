// A device's management secrets (its NETCONF password) are written by the admin but shown only on
// request: the API leaves them out for callers without the admin token, the CLI prints a mask unless
// --show-secrets. A mask that comes back in (a `device show` or `nvo export` edited and applied)
// means "keep the stored secret", so round trips never store the mask itself.
import type { Device } from './device.ts';

export const REDACTED = '***';

export function hideDeviceSecrets(d: Device, how: 'omit' | 'mask'): Device {
  if (!d.management?.password) return d;
  const { password: _hidden, ...management } = d.management;
  return { ...d, management: how === 'omit' ? management : { ...management, password: REDACTED } };
}

/** True when the device carries the mask where a secret goes. */
export function hasRedactedSecret(d: Device): boolean {
  return d.management?.password === REDACTED;
}

/** The device with its mask replaced by the stored device's secret, or null when there is none to keep. */
export function restoreDeviceSecrets(d: Device, stored: Device | null): Device | null {
  if (!hasRedactedSecret(d)) return d;
  const password = stored?.management?.password;
  if (password === undefined) return null;
  return { ...d, management: { ...d.management!, password } };
}
