// An IQ error, a timeout or a lost session, as one typed error the sync pipeline can act on:
// `transient` ones are retried with backoff, the others fail the job at once with the agent's words.
import type { Element } from '@xmpp/xml';
import { NvoError, type ErrorCode } from '../../errors.ts';
import { NS_PUSH, NS_STANZAS } from './protocol.ts';

// RFC 6120 §8.3.3 defined conditions that say "not now" rather than "never": the recipient is offline
// or busy, or the server could not reach it. An error of type "wait" (§8.3.2) is transient too.
const TRANSIENT = new Set([
  'service-unavailable',
  'recipient-unavailable',
  'remote-server-timeout',
  'remote-server-not-found',
  'resource-constraint',
  'internal-server-error',
]);

const CODE: Record<string, ErrorCode> = {
  'bad-request': 'invalid-input',
  'not-acceptable': 'invalid-input',
  'feature-not-implemented': 'invalid-input',
  conflict: 'conflict',
  forbidden: 'forbidden',
  'not-allowed': 'forbidden',
  'not-authorized': 'unauthorized',
  'item-not-found': 'not-found',
};

export interface ApplicationCondition {
  name: string;
  attrs: Record<string, string>;
}

export class XmppError extends NvoError {
  constructor(
    readonly device: string,
    /** RFC 6120 defined condition, or `timeout` / `offline` for faults that never reached the agent. */
    readonly condition: string,
    readonly text: string,
    readonly transient: boolean,
    readonly application: ApplicationCondition | null = null,
    readonly errorType: string | null = null,
  ) {
    super(
      transient ? 'unavailable' : (CODE[condition] ?? 'internal'),
      `${device}: ${condition}${text ? `: ${text}` : ''}`,
      [],
      { device, condition, ...(text ? { text } : {}), ...(application ? { application } : {}), transient },
    );
  }

  /** From an `<error/>` child of an IQ of type error (RFC 6120 §8.3.2). */
  static fromElement(device: string, error: Element | undefined): XmppError {
    if (!error) return new XmppError(device, 'undefined-condition', 'IQ error without an <error/> element', false);
    const children = error.getChildElements();
    const condition = children.find((c) => c.attrs.xmlns === NS_STANZAS && c.name !== 'text')?.name ?? 'undefined-condition';
    const text = children.find((c) => c.attrs.xmlns === NS_STANZAS && c.name === 'text')?.text() ?? '';
    const app = children.find((c) => c.attrs.xmlns !== NS_STANZAS);
    const application = app ? { name: app.attrs.xmlns === NS_PUSH ? app.name : `{${app.attrs.xmlns ?? ''}}${app.name}`, attrs: attrsOf(app) } : null;
    const type = (error.attrs.type as string | undefined) ?? null;
    return new XmppError(device, condition, text, type === 'wait' || TRANSIENT.has(condition), application, type);
  }

  static timeout(device: string, ms: number): XmppError {
    return new XmppError(device, 'timeout', `no answer within ${ms} ms`, true);
  }

  static offline(device: string, why: string): XmppError {
    return new XmppError(device, 'offline', why, true);
  }
}

function attrsOf(el: Element): Record<string, string> {
  return Object.fromEntries(Object.entries(el.attrs).filter(([k]) => k !== 'xmlns').map(([k, v]) => [k, String(v)]));
}
