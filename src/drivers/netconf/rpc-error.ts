// RFC 6241 §4.3: every <rpc-error> of a reply, typed. Errors and warnings are kept apart: a reply
// with only warnings succeeds and carries them; one error makes the whole reply fail.
import type { Element } from '@xmldom/xmldom';
import { NetconfError } from './netconf-error.ts';
import { child, children, text } from './xml.ts';

export interface RpcErrorDetail {
  type: string; // transport | rpc | protocol | application
  tag: string; // e.g. invalid-value, lock-denied, in-use, data-missing
  severity: 'error' | 'warning';
  appTag?: string;
  path?: string;
  message?: string;
  /** <error-info> children by local name, e.g. session-id, bad-element, bad-value. */
  info: Record<string, string>;
}

// Tags that can go away on their own; everything else (invalid-value, data-missing, ...) is the
// request's fault and will fail again the same way.
const TRANSIENT_TAGS = new Set(['lock-denied', 'in-use', 'resource-denied', 'rollback-failed']);

export class RpcError extends NetconfError {
  constructor(
    readonly errors: RpcErrorDetail[],
    readonly warnings: RpcErrorDetail[],
    readonly operation: string,
  ) {
    const first = errors[0]!;
    const where = first.path ? ` at ${first.path}` : '';
    super(
      first.tag === 'lock-denied' ? 'lock-denied' : 'rpc-error',
      `${operation}: ${first.tag}${where}: ${first.message ?? '(no message)'}`,
      { errors, warnings, operation },
      errors.every((e) => TRANSIENT_TAGS.has(e.tag)),
    );
  }
  get tag(): string {
    return this.errors[0]!.tag;
  }
  get path(): string | undefined {
    return this.errors[0]!.path;
  }
  get deviceMessage(): string | undefined {
    return this.errors[0]!.message;
  }
}

export function parseRpcErrors(reply: Element): { errors: RpcErrorDetail[]; warnings: RpcErrorDetail[] } {
  const errors: RpcErrorDetail[] = [];
  const warnings: RpcErrorDetail[] = [];
  for (const e of children(reply, 'rpc-error')) {
    const info: Record<string, string> = {};
    const infoEl = child(e, 'error-info');
    if (infoEl) for (const i of children(infoEl)) info[i.localName ?? 'info'] = text(i) ?? '';
    const detail: RpcErrorDetail = {
      type: text(child(e, 'error-type')) ?? 'rpc',
      tag: text(child(e, 'error-tag')) ?? 'operation-failed',
      severity: text(child(e, 'error-severity')) === 'warning' ? 'warning' : 'error',
      appTag: text(child(e, 'error-app-tag')),
      path: text(child(e, 'error-path')),
      message: text(child(e, 'error-message')),
      info,
    };
    (detail.severity === 'warning' ? warnings : errors).push(detail);
  }
  return { errors, warnings };
}
