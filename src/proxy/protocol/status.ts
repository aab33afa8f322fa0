// Status codes as in SIP (RFC 3261 §21): 1xx provisional, 2xx success, 4xx the request is wrong,
// 5xx the server (or a device behind it) failed. Only the codes below are ever sent.
import { NvoError } from '../../errors.ts';

export const REASONS = {
  100: 'Trying',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  481: 'Call/Transaction Does Not Exist',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Server Time-out',
} as const;

export type Status = keyof typeof REASONS;

/** A final answer that is not 2xx, thrown by a method handler and sent as is. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
  constructor(
    readonly status: Status,
    message: string,
    readonly body: Record<string, unknown> = {},
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}


/** Seconds an NVE should wait before retrying after exhaustion (RFC 3261 §20.33 Retry-After). */
export const EXHAUSTED_RETRY_AFTER = 30;

export function statusOfError(e: NvoError): StatusError {
  // The protocol's status classes are HTTP's, so an error keeps the status it has everywhere.
  return new StatusError(e.status as Status, e.message, e.toJSON(), e.code === 'exhausted' || e.code === 'unavailable' ? EXHAUSTED_RETRY_AFTER : undefined);
}
