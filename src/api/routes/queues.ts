// The queue dashboard for queue monitors: Bull Board at /queues, for admin-token holders only (it
// can retry and remove jobs, and job data names devices and sessions). A browser sends the token as
// `Authorization: Bearer …` (a header-injecting proxy, or a browser extension).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { NvoError } from '../../errors.ts';

export const QUEUES_PATH = '/queues';

export function queuesRoutes(queues: Queue[]) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const board = new FastifyAdapter();
    createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'nvo queues' } } });
    board.setBasePath(QUEUES_PATH);
    await app.register(async (scoped) => {
      // Answered here, not thrown: Bull Board's plugin installs an error handler of its own that would make it a 500.
      scoped.addHook('onRequest', async (req, reply) => {
        if (req.isAdmin) return;
        const err = new NvoError('unauthorized', `${QUEUES_PATH} is for admin-token holders: send Authorization: Bearer <NVO_ADMIN_TOKEN>`);
        return reply.code(err.status).send(err.toJSON());
      });
      // Bull Board's ~40 JSON routes (…/obliterate, …/retry) serve its page, not nvo's clients: kept
      // out of /openapi.json, except the page itself.
      scoped.addHook('onRoute', (r) => {
        r.config = { ...r.config, openapi: { summary: 'the queue dashboard (Bull Board, HTML; admin token)', tag: 'queues', hide: r.url !== QUEUES_PATH } };
      });
      await scoped.register(board.registerPlugin(), { prefix: QUEUES_PATH });
    });
  };
}
