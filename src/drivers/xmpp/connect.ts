// Opens an XMPP client session (@xmpp/client) for the driver and the gateway agent alike.
import { randomUUID } from 'node:crypto';
import { client, xml, type Client } from '@xmpp/client';
import type { CredentialsFactory } from '@xmpp/sasl2';
import type { Socket } from 'node:net';

export interface XmppLogin {
  /** `xmpp://host:port` (or `xmpps://`). */
  service: string;
  /** Bare or full JID; a resource in it is bound, else `defaultResource`. */
  jid: string;
  password: string;
}

export function splitJid(jid: string): { bare: string; local: string; domain: string; resource: string | undefined } {
  const slash = jid.indexOf('/');
  const bare = slash < 0 ? jid : jid.slice(0, slash);
  const resource = slash < 0 ? undefined : jid.slice(slash + 1);
  const at = bare.indexOf('@');
  return { bare: bare.toLowerCase(), local: bare.slice(0, at), domain: bare.slice(at + 1).toLowerCase(), resource };
}

/**
 * True when `actual` (a full JID from the wire) is the peer `configured` names: the bare JIDs are equal
 * and, when `configured` has a resource, so are the resources (RFC 7622 §3.4: the resource is case-sensitive).
 */
export function jidMatches(configured: string, actual: string | undefined): boolean {
  if (!actual) return false;
  const c = splitJid(configured);
  const a = splitJid(actual);
  return c.bare === a.bare && (c.resource === undefined || c.resource === a.resource);
}

export function fullJid(jid: string, defaultResource: string): string {
  const j = splitJid(jid);
  return `${j.bare}/${j.resource ?? defaultResource}`;
}

function isLoopback(service: string): boolean {
  try {
    const host = new URL(service).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

export function createXmppClient(login: XmppLogin, defaultResource: string): Client {
  const j = splitJid(login.jid);
  const plainOk = isLoopback(login.service) || login.service.startsWith('xmpps:');
  const userAgent = xml('user-agent', { id: randomUUID() });
  // @xmpp/client refuses PLAIN on a stream without TLS and falls back to SCRAM-SHA-1, which costs ~1 s
  // of CPU per login here; over loopback (or TLS) PLAIN exposes nothing, so pick it explicitly.
  const credentials: CredentialsFactory<Client> = async (authenticate, mechanisms) => {
    const mechanism = plainOk && mechanisms.includes('PLAIN') ? 'PLAIN' : mechanisms.find((m) => m !== 'PLAIN' && m !== 'ANONYMOUS');
    if (!mechanism) throw new Error(`no usable SASL mechanism among ${mechanisms.join(', ')}`);
    await authenticate({ username: j.local, password: login.password }, mechanism, userAgent);
  };
  const xmpp = client({ service: login.service, domain: j.domain, resource: j.resource ?? defaultResource, credentials });
  // Nagle + delayed ACK add ~44 ms to every sequential IQ (lab-facts): push/ack is latency-bound.
  xmpp.on('connect', () => (xmpp.socket as unknown as Socket | null)?.setNoDelay?.(true));
  return xmpp;
}
