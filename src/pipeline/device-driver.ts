// The one interface the sync worker needs from a driver. Adapters over the NETCONF and XMPP drivers
// (driver-registry.ts) implement it; the worker never sees a transport.
import type { Device } from '../model/device.ts';
import type { DeviceChange, DeviceConfig, EntryKind } from '../model/device-config.ts';
import { LeaseLostError, NvoError } from '../errors.ts';

export interface ApplyRequest {
  /** The applied revision the change was computed from (XMPP agents check it, RFC-less but ours). */
  base: number;
  /** The desired revision this change brings the device to (logs, and devices that record it). */
  revision: number;
  /** What the device has now, as far as nvo knows. */
  applied: DeviceConfig;
  /** What the device has after the change. */
  desired: DeviceConfig;
  /** diffConfig(applied, desired), never empty. */
  change: DeviceChange;
}

export interface DeviceDriver {
  /** All or nothing: on error the device is left as it was. Errors say whether a retry can help
   *  with a boolean `transient` (NetconfError does); anything without one counts as permanent. */
  apply(device: Device, req: ApplyRequest): Promise<{ committed: boolean }>;
  /** nvo's part of what the device has now (check-sync, repair). */
  read?(device: Device): Promise<DeviceConfig>;
  /** false: the device cannot take several commits at one revision (XMPP agents order pushes by
   *  revision), so a refused batch is not bisected: a sole new owner is blamed without a commit,
   *  otherwise the whole batch fails. Default true. */
  isolation?: boolean;
  /** Entry kinds the device's dialect cannot hold: read-back never shows them, so they are not drift. */
  ignoredKinds?(device: Device): readonly EntryKind[];
}

/** Worth another attempt: a transient fault, or a sync lock lost to another worker (who carries on). */
export function isRetryable(err: unknown): boolean {
  return isTransient(err) || err instanceof LeaseLostError;
}

export function isTransient(err: unknown): boolean {
  if (err && typeof err === 'object' && 'transient' in err) return Boolean((err as { transient: unknown }).transient);
  if (err instanceof NvoError && typeof err.details.transient === 'boolean') return err.details.transient;
  // Redis or the network failing under the worker is not the device's verdict.
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code);
}

/** A permanent fault of getting in, not of what was sent: a wrong SSH host key, a refused login
 *  (NetconfError host-key-mismatch/auth-failed map to `forbidden`; XMPP not-authorized/forbidden).
 *  No retry helps until someone fixes the inventory or the device, and no contribution is to blame,
 *  so such an error fails the whole sync at once rather than being bisected. */
export function isAccessFailure(err: unknown): boolean {
  if (isTransient(err)) return false;
  const code = err instanceof NvoError ? err.code : null;
  return code === 'forbidden' || code === 'unauthorized';
}

/** A refusal that says the device's datastore is not what the edit assumed (RFC 6241 App. A:
 *  `data-missing`, `data-exists`): what nvo recorded as applied is not what the device has — it
 *  lost its configuration (a rebuilt lab device, a router restarted without it) or someone changed
 *  it. Nothing to blame on a session: read the device back and sync against what it really has. */
export function isDriftRefusal(err: unknown): boolean {
  const tag = (err as { tag?: unknown } | null)?.tag;
  return err instanceof NvoError && !isTransient(err) && (tag === 'data-missing' || tag === 'data-exists');
}

/** The device's own words and where it pointed, as carried to the waiting session. */
export function deviceWords(device: string, err: unknown): { code: string; message: string; details: Record<string, unknown> } {
  if (err instanceof NvoError) {
    // NETCONF rpc-errors also carry the bare <error-message> and <error-path> (RFC 6241 §4.3).
    const e = err as NvoError & { deviceMessage?: string; path?: string };
    const extra = { ...(e.deviceMessage ? { deviceMessage: e.deviceMessage } : {}), ...(typeof e.path === 'string' ? { path: e.path } : {}) };
    return { code: err.code, message: err.message, details: { device, ...err.details, ...extra } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'device-error', message, details: { device } };
}
