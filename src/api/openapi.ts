// The OpenAPI document is built from the routes themselves: every route carries its zod schemas in
// `config.openapi`, an onRoute hook collects them, and /openapi.json turns them into JSON Schema with
// z.toJSONSchema. Routes that plugins add later are listed the same way, so the document cannot
// drift from what the server serves.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

export interface RouteDoc {
  summary: string;
  tag: string;
  /** Request body (described as input: what the client may send, before defaults). */
  body?: z.ZodType;
  /** Success response body; absent for 204. */
  response?: z.ZodType;
  /** Success status, 200 unless given. */
  status?: number;
  query?: Record<string, string>;
  /** Error statuses this route can answer besides 400/500. */
  errors?: number[];
  /** Served but not part of nvo's API (Bull Board's own JSON routes behind the /queues dashboard). */
  hide?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDoc;
  }
}

export const errorSchema = z.object({
  error: z.object({
    code: z.enum(['invalid-input', 'unauthorized', 'forbidden', 'not-found', 'conflict', 'exhausted', 'unavailable', 'internal']),
    message: z.string(),
    issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

interface CollectedRoute {
  method: string;
  url: string;
  /** The route's options as fastify passes them to every onRoute hook: read when the document is
   *  built, so a plugin's own onRoute hook (registered after this one) can still mark its routes. */
  options: { config?: { openapi?: RouteDoc } };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ERROR_WORDS: Record<number, string> = { 400: 'bad input', 401: 'missing or wrong bearer token', 404: 'not found', 409: 'conflict', 413: 'body too large', 415: 'body is not application/json', 503: 'Redis unavailable' };

export class RouteCatalog {
  readonly routes: CollectedRoute[] = [];

  /** Call before any route is registered. Routes without `config.openapi` are listed with a summary
   *  made of method and path; routes with `hide` are left out. */
  collect(app: FastifyInstance): void {
    app.addHook('onRoute', (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const method of methods) if (method !== 'HEAD') this.routes.push({ method, url: r.url, options: r });
    });
  }

  document(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of [...this.routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))) {
      const doc = r.options.config?.openapi;
      if (doc?.hide) continue;
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const params = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      const status = String(doc?.status ?? 200);
      const writes = !SAFE_METHODS.has(r.method);
      const errors = new Set([...(writes ? [400, 401, 413, 415] : []), ...(params.length ? [404] : []), ...(doc?.errors ?? []), 503]);
      const responses: Record<string, unknown> = {
        [status]: doc?.response ? { description: 'OK', content: { 'application/json': { schema: jsonSchema(doc.response, 'output') } } } : { description: 'OK' },
      };
      for (const e of [...errors].sort()) {
        responses[String(e)] = { description: ERROR_WORDS[e] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
      const query = Object.entries(doc?.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'boolean' } }));
      (paths[path] ??= {})[r.method.toLowerCase()] = {
        summary: doc?.summary ?? `${r.method} ${r.url}`,
        ...(doc?.tag ? { tags: [doc.tag] } : {}),
        ...(params.length + query.length ? { parameters: [...params, ...query] } : {}),
        ...(doc?.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
        ...(writes ? { security: [{ bearer: [] }] } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Error: jsonSchema(errorSchema, 'output') } },
    };
  }
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // Refinements (gateway inside subnet, …) have no JSON Schema form; the server still enforces them.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
