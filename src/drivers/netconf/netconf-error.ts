// The NETCONF driver's one error type: a stable NETCONF-level code on top of NvoError's code, and
// whether retrying can help. The job runner retries transient errors with backoff and fails
// permanent ones at once (STYLE.md: errors that steer the machine).
import { NvoError, type ErrorCode } from '../../errors.ts';

export type NetconfCode =
  | 'unreachable' // TCP/SSH could not be opened
  | 'auth-failed'
  | 'host-key-mismatch'
  | 'timeout' // an RPC or the hello was not answered in time
  | 'session-lost' // the SSH channel closed under pending RPCs
  | 'framing' // the peer broke RFC 6242 framing; the session is ended
  | 'protocol' // a reply that is not NETCONF
  | 'capability-missing'
  | 'rpc-error' // the device answered <rpc-error>
  | 'lock-denied'
  | 'readback-mismatch'; // the committed configuration is not what was sent

const nvoCode: Record<NetconfCode, ErrorCode> = {
  unreachable: 'unavailable',
  'auth-failed': 'forbidden',
  'host-key-mismatch': 'forbidden',
  timeout: 'unavailable',
  'session-lost': 'unavailable',
  framing: 'internal',
  protocol: 'internal',
  'capability-missing': 'invalid-input',
  'rpc-error': 'invalid-input',
  'lock-denied': 'conflict',
  'readback-mismatch': 'internal',
};

const transientCodes = new Set<NetconfCode>(['unreachable', 'timeout', 'session-lost', 'lock-denied']);

export class NetconfError extends NvoError {
  readonly transient: boolean;
  constructor(
    readonly netconfCode: NetconfCode,
    message: string,
    details: Record<string, unknown> = {},
    transient = transientCodes.has(netconfCode),
  ) {
    super(nvoCode[netconfCode], message, [], { netconfCode, transient, ...details });
    this.transient = transient;
  }
}
