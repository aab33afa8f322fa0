// Every error leaves the API as {error: {code, message, issues}} with the status its code implies.
import type { FastifyError, FastifyInstance } from 'fastify';
import { NvoError } from '../errors.ts';
import { asNvoError } from '../store/redis-errors.ts';

/** Fastify's own 4xx (body too large, bad content type) keep their status; the envelope is ours. */
function fromFastify(err: FastifyError): { status: number; error: NvoError } | null {
  if (!err.code?.startsWith('FST_') || !err.statusCode || err.statusCode >= 500) return null;
  const reason =
    err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'is larger than the server accepts' : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'must be JSON (content-type: application/json)' : err.message;
  return { status: err.statusCode, error: new NvoError('invalid-input', `request body ${reason}`, [{ field: 'body', reason }]) };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = err instanceof NvoError ? null : fromFastify(err);
    const error = mapped?.error ?? asNvoError(err);
    const status = mapped?.status ?? error.status;
    if (status >= 500) request.log.error({ err }, error.message);
    if (error.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer realm="nvo"');
    return reply.status(status).send(error.toJSON());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new NvoError('not-found', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON()),
  );
}

/** JSON bodies parsed by us, so a syntax error names the body and where it broke. */
export function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(new NvoError('invalid-input', 'request body is empty; send a JSON document', [{ field: 'body', reason: 'is empty' }]), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      const reason = `is not valid JSON: ${(e as Error).message}`;
      done(new NvoError('invalid-input', `request body ${reason}`, [{ field: 'body', reason }]), undefined);
    }
  });
}
