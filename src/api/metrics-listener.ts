// A /metrics listener of its own for the processes that serve no admin API (`nvo network-proxy`,
// `nvo worker`): prom-client keeps its registry per process, so the sync workers' and the INVITE
// figures can only be scraped from the process that records them. The same route as `nvo serve`'s
// /metrics, and nothing else, without auth: it is meant for a scraper on a management network
// (loopback by default).
import Fastify from 'fastify';
import { NvoError } from '../errors.ts';
import { metricsRoutes } from './routes/metrics.ts';

export interface MetricsListener {
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (0 = any free port; the result says which). */
export async function listenMetrics(o: { host?: string; port: number }): Promise<MetricsListener> {
  const host = o.host ?? '127.0.0.1';
  const app = Fastify({ logger: false });
  await app.register(metricsRoutes());
  try {
    await app.listen({ host, port: o.port });
  } catch (e) {
    await app.close();
    const err = e as NodeJS.ErrnoException;
    // Said before the process announces anything: a scraper pointed at a port another process holds
    // would read that process's figures and nobody would notice.
    const code = err.code === 'EADDRINUSE' ? 'conflict' : 'unavailable';
    throw new NvoError(code, `metrics: cannot listen on ${host}:${o.port}: ${err.code ?? err.message}`, [], { host, port: o.port });
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { host, port, url: `http://${shown}:${port}/metrics`, close: () => app.close() };
}
