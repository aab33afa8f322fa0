// The admin HTTP API as a fastify app built from an InventoryStore, so tests inject requests and
// `nvo serve` listens. Order matters and is written down here: route collection for the OpenAPI
// document first, then error handling and the JSON parser, then auth, then the routes — the
// inventory's and whatever later parts add (read-only views, /queues, /metrics) through extraRoutes.
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import { NvoError } from '../errors.ts';
import type { InventoryStore } from '../store/inventory-store.ts';
import { SAFE_METHODS, tokenMatches } from './auth.ts';
import { installErrorHandling, installJsonParser } from './errors.ts';
import { RouteCatalog } from './openapi.ts';
import { inventoryRoutes } from './routes/inventory.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface AdminAppOptions {
  store: InventoryStore;
  /** Bearer token for every request that changes something. */
  token?: string | null;
  /** Accept writes without a token (a lab on a laptop; never a shared network). */
  insecureNoAuth?: boolean;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** More routes, registered after the inventory's; they get auth, error handling and OpenAPI listing too. */
  extraRoutes?: FastifyPluginAsync[];
  version?: string;
}

export async function buildAdminApp(opts: AdminAppOptions): Promise<FastifyInstance> {
  const token = opts.token || null;
  if (!token && !opts.insecureNoAuth) {
    throw new NvoError('invalid-input', 'the admin API needs a token for writes: set NVO_ADMIN_TOKEN (or pass --insecure-no-auth for a throwaway lab)');
  }
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit });
  const catalog = new RouteCatalog();
  catalog.collect(app);
  installErrorHandling(app);
  installJsonParser(app, bodyLimit);

  app.decorateRequest('isAdmin', false);
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    req.isAdmin = token ? tokenMatches(token, header) : true;
    if (req.isAdmin || SAFE_METHODS.has(req.method)) return;
    throw new NvoError('unauthorized', header ? 'the bearer token is not the admin token' : 'this request changes state: send Authorization: Bearer <NVO_ADMIN_TOKEN>');
  });

  app.get('/openapi.json', { config: { openapi: { summary: 'this document', tag: 'meta' } } }, async () =>
    catalog.document({ title: 'nvo admin API', version: opts.version ?? '0.1.0' }),
  );
  app.get('/healthz', { config: { openapi: { summary: 'the server is up and Redis answers', tag: 'meta' } } }, async () => {
    await opts.store.redis.ping();
    return { ok: true };
  });
  await app.register(inventoryRoutes(opts.store));
  for (const plugin of opts.extraRoutes ?? []) await app.register(plugin);
  await app.ready();
  return app;
}
