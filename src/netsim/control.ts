// The fleet's control channel: a small JSON-over-HTTP endpoint on 127.0.0.1 that `nvo netsim` and
// tests use to read status, inject faults and change settings while devices keep running.
//
//   GET  /status                                  every device: sessions, locks, pending confirmed commit, stats
//   POST /faults   {device, kind, count?, error?} refuse-commit | drop-session | bad-chunk | clear
//   POST /settings {device, commitDelayMs?, checks?}
//   GET  /config?device=PORT&datastore=running    the datastore as XML
//   POST /shutdown                                stops the fleet process
import { XMLSerializer } from '@xmldom/xmldom';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { z } from 'zod';
import { NvoError } from '../errors.ts';
import { parseInput } from '../model/validate.ts';
import type { Fleet } from './fleet.ts';

const deviceRef = z.union([z.literal('all'), z.number().int().min(1).max(65535)]);
const xmlName = z.string().regex(/^[A-Za-z_][\w.-]*$/, 'must be an XML element name');

export const faultBody = z.strictObject({
  device: deviceRef,
  kind: z.enum(['refuse-commit', 'drop-session', 'bad-chunk', 'clear']),
  count: z.number().int().min(1).max(1_000_000).optional(),
  error: z
    .strictObject({
      type: z.enum(['transport', 'rpc', 'protocol', 'application']).optional(),
      tag: xmlName.optional(),
      severity: z.enum(['error', 'warning']).optional(),
      appTag: z.string().optional(),
      path: z.string().optional(),
      message: z.string().optional(),
      info: z.record(xmlName, z.union([z.string(), z.number()])).optional(),
    })
    .optional(),
});

export const settingsBody = z.strictObject({
  device: deviceRef,
  commitDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  checks: z.boolean().optional(),
});

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

export async function startControl(fleet: Fleet, port: number, onShutdown: () => void): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    handle(fleet, req, onShutdown).then(
      ({ status, body, type }) => {
        res.writeHead(status, { 'content-type': type ?? 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      },
      (err: unknown) => {
        const e = err instanceof NvoError ? err : new NvoError('internal', (err as Error).message);
        res.writeHead(e.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(e.toJSON()));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(fleet: Fleet, req: IncomingMessage, onShutdown: () => void): Promise<{ status: number; body: unknown; type?: string }> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /status':
      return { status: 200, body: { pid: process.pid, host: fleet.host, username: fleet.username, protocols: fleet.protocols.map((p) => `base:${p}`), devices: fleet.status() } };
    case 'POST /faults': {
      const f = parseInput(faultBody, await json(req), 'fault');
      fleet.inject(f.device, f.kind === 'refuse-commit' ? { kind: f.kind, count: f.count, error: f.error } : f.kind === 'drop-session' || f.kind === 'bad-chunk' ? { kind: f.kind, count: f.count } : { kind: 'clear' });
      return { status: 200, body: { ok: true } };
    }
    case 'POST /settings': {
      const s = parseInput(settingsBody, await json(req), 'settings');
      fleet.configure(s.device, s);
      return { status: 200, body: { ok: true } };
    }
    case 'GET /config': {
      const port = Number(url.searchParams.get('device'));
      const ds = url.searchParams.get('datastore') ?? 'running';
      if (ds !== 'running' && ds !== 'candidate') throw new NvoError('invalid-input', `datastore: must be running or candidate, got '${ds}'`, [{ field: 'datastore', reason: 'must be running or candidate' }]);
      const d = fleet.device(port);
      return { status: 200, type: 'application/xml', body: d.read(ds, (store) => new XMLSerializer().serializeToString(store)) };
    }
    case 'POST /shutdown':
      setImmediate(onShutdown);
      return { status: 200, body: { ok: true } };
    default:
      throw new NvoError('not-found', `no control endpoint ${route}`);
  }
}

async function json(req: IncomingMessage): Promise<unknown> {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 65536) throw new NvoError('invalid-input', 'request body larger than 64 KiB');
  }
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    throw new NvoError('invalid-input', 'request body is not JSON');
  }
}

/** The control channel from the other side (the CLI, tests). */
export async function control<T = unknown>(url: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new NvoError('unavailable', `netsim control channel at ${url} does not answer: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    const e = JSON.parse(text) as { error: { code: NvoError['code']; message: string; issues?: { field: string; reason: string }[] } };
    throw new NvoError(e.error.code, e.error.message, e.error.issues ?? []);
  }
  return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T;
}
