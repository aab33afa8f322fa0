// Use case 3 over HTTP: hNVEs as the admin provisions them. Writes need the admin token (like every
// write); the secret goes in with POST/PUT and never comes out — every answer is the public view.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hnveSchema, publicView } from '../../model/hnve.ts';
import type { NveStore } from '../../store/nve-store.ts';

const view = hnveSchema.omit({ secret: true });

export function hnveRoutes(nves: NveStore) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const tag = 'hnves';
    app.get('/hnves', { config: { openapi: { summary: 'list hNVEs (never their secrets)', tag, response: z.object({ items: z.array(view) }) } } }, async () => ({
      items: (await nves.list()).map(publicView),
    }));
    app.get('/hnves/:id', { config: { openapi: { summary: 'show one hNVE (never its secret)', tag, response: view } } }, async (req) => publicView(await nves.show((req.params as { id: string }).id)));
    app.post('/hnves', { config: { openapi: { summary: 'provision an hNVE with its secret (16-256 characters); 409 for an id or VTEP in use', tag, body: hnveSchema, response: view, status: 201, errors: [409] } } }, async (req, reply) => {
      const h = publicView(await nves.put(req.body));
      return reply.status(201).header('location', `/hnves/${encodeURIComponent(h.id)}`).send(h);
    });
    app.put('/hnves/:id', { config: { openapi: { summary: 'replace an hNVE (the id in the body may be left out); 409 for a VTEP in use', tag, body: hnveSchema, response: view, errors: [409] } } }, async (req) => {
      const id = (req.params as { id: string }).id;
      const body = req.body && typeof req.body === 'object' ? { ...(req.body as object), id } : req.body;
      return publicView(await nves.put(body, { replace: true }));
    });
    app.delete('/hnves/:id', { config: { openapi: { summary: 'delete an hNVE (409 while it has sessions)', tag, status: 204, errors: [409] } } }, async (req, reply) => {
      await nves.remove((req.params as { id: string }).id);
      return reply.status(204).send();
    });
  };
}
