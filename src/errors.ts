// One error type for the whole project: a stable machine code, the words for people, and — where the
// fault is in input — the fields at fault. HTTP status and CLI exit code are derived from the code.

export interface FieldIssue {
  /** Dotted path into the input, e.g. `devices[2].vlanRanges[0]`; empty for the whole document. */
  field: string;
  reason: string;
}

export type ErrorCode =
  | 'invalid-input' // 400: the input is malformed or breaks a rule
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409: duplicate, or still in use
  | 'exhausted' // 503: a pool has no free value
  | 'unavailable' // 503: a dependency (Redis, a device) is unreachable
  | 'timeout' // 504: a device did not apply the change before the deadline
  | 'device-error' // 500: a device refused the change; the message is the device's own words
  | 'internal'; // 500

const httpStatus: Record<ErrorCode, number> = {
  'invalid-input': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  exhausted: 503,
  unavailable: 503,
  timeout: 504,
  'device-error': 500,
  internal: 500,
};

export class NvoError extends Error {
  override readonly name = 'NvoError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: FieldIssue[] = [],
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get status(): number {
    return httpStatus[this.code];
  }

  toJSON(): { error: { code: ErrorCode; message: string; issues?: FieldIssue[]; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.issues.length ? { issues: this.issues } : {}),
        ...(Object.keys(this.details).length ? { details: this.details } : {}),
      },
    };
  }
}

export function invalid(field: string, reason: string): NvoError {
  return new NvoError('invalid-input', field ? `${field}: ${reason}` : reason, [{ field, reason }]);
}

export function notFound(what: string, id: string): NvoError {
  return new NvoError('not-found', `${what} '${id}' not found`, [], { kind: what, id });
}

export function conflict(message: string, details: Record<string, unknown> = {}): NvoError {
  return new NvoError('conflict', message, [], details);
}

/** A lease in Redis (a device's sync lock, a REFER move's runner) was taken over while its holder
 *  worked: the holder stops without changing anything more. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}
