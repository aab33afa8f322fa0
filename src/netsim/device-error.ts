// What a simulated device answers when it refuses a request: one or more <rpc-error>s with every
// field of RFC 6241 §4.3 / Appendix A. Thrown by the operations, turned into the reply by the session.
import { escapeXml } from '../drivers/netconf/xml.ts';

export type ErrorType = 'transport' | 'rpc' | 'protocol' | 'application';

export interface RpcErrorSpec {
  type: ErrorType;
  tag: string;
  severity?: 'error' | 'warning';
  appTag?: string;
  /** An XPath (RFC 6241 §4.3 error-path); its prefixes are declared from `pathNs`. */
  path?: string;
  pathNs?: Record<string, string>;
  message?: string;
  /** <error-info> children by name: session-id, bad-element, bad-attribute, bad-namespace, bad-value. */
  info?: Record<string, string | number>;
}

export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  readonly errors: RpcErrorSpec[];
  constructor(...errors: RpcErrorSpec[]) {
    super(errors.map((e) => `${e.tag}: ${e.message ?? ''}`).join('; '));
    this.errors = errors;
  }
}

export const deviceError = (spec: RpcErrorSpec) => new DeviceError(spec);

export function rpcErrorXml(e: RpcErrorSpec): string {
  const ns = Object.entries(e.pathNs ?? {})
    .map(([p, uri]) => ` xmlns:${p}="${escapeXml(uri)}"`)
    .join('');
  // Names come from failure-injection requests too: only XML names become elements.
  const info = Object.entries(e.info ?? {}).filter(([k]) => /^[A-Za-z_][\w.-]*$/.test(k));
  return (
    '<rpc-error>' +
    `<error-type>${e.type}</error-type>` +
    `<error-tag>${escapeXml(e.tag)}</error-tag>` +
    `<error-severity>${e.severity ?? 'error'}</error-severity>` +
    (e.appTag ? `<error-app-tag>${escapeXml(e.appTag)}</error-app-tag>` : '') +
    (e.path ? `<error-path${ns}>${escapeXml(e.path)}</error-path>` : '') +
    (e.message ? `<error-message xml:lang="en">${escapeXml(e.message)}</error-message>` : '') +
    (info.length ? `<error-info>${info.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('')}</error-info>` : '') +
    '</rpc-error>'
  );
}
