// RFC 6241 §8 capability URNs that decide which path an operation takes.
import { NetconfError } from './netconf-error.ts';
import type { NetconfSession } from './rpc.ts';

const CAP = 'urn:ietf:params:netconf:capability';
export const CANDIDATE = `${CAP}:candidate:1.0`;
export const WRITABLE_RUNNING = `${CAP}:writable-running:1.0`;
export const CONFIRMED_COMMIT_10 = `${CAP}:confirmed-commit:1.0`;
export const CONFIRMED_COMMIT_11 = `${CAP}:confirmed-commit:1.1`;
export const VALIDATE_10 = `${CAP}:validate:1.0`;
export const VALIDATE_11 = `${CAP}:validate:1.1`;
export const ROLLBACK_ON_ERROR = `${CAP}:rollback-on-error:1.0`;

export const hasCandidate = (s: NetconfSession) => s.has(CANDIDATE);
export const hasWritableRunning = (s: NetconfSession) => s.has(WRITABLE_RUNNING);
export const hasConfirmedCommit = (s: NetconfSession) => s.has(CONFIRMED_COMMIT_11) || s.has(CONFIRMED_COMMIT_10);
/** persist / persist-id arrived with :confirmed-commit:1.1 (RFC 6241 §8.4). */
export const hasPersist = (s: NetconfSession) => s.has(CONFIRMED_COMMIT_11);
export const hasValidate = (s: NetconfSession) => s.has(VALIDATE_11) || s.has(VALIDATE_10);
export const hasRollbackOnError = (s: NetconfSession) => s.has(ROLLBACK_ON_ERROR);

export function requireCapability(s: NetconfSession, ok: boolean, what: string, operation: string): void {
  if (!ok) throw new NetconfError('capability-missing', `${s.where}: ${operation} needs the ${what} capability, which the device does not announce`, { operation, capability: what }, false);
}
