// Prometheus metrics at /metrics (text exposition format): the pipeline's registry, plus any other.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { pipelineRegistry } from '../../pipeline/metrics.ts';

export function metricsRoutes(registry: Registry = pipelineRegistry) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/metrics', { config: { openapi: { summary: 'Prometheus metrics: queue depth, sync durations, commits, coalescing, retries, failures, INVITE latency', tag: 'meta' } } }, async (_req, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    });
  };
}
