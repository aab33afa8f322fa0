// nvo serve: the admin HTTP API. Writes need NVO_ADMIN_TOKEN; without one the server refuses to
// start unless told --insecure-no-auth.
import type { Command } from 'commander';
import { invalidInput } from '../../model/validate.ts';
import type { CliContext } from '../context.ts';

export const DEFAULT_LISTEN = '127.0.0.1:8080';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw invalidInput('--listen', [{ field: 'listen', reason: `'${text}' is not host:port (e.g. 127.0.0.1:8080)` }]);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('serve the admin HTTP API (OpenAPI at /openapi.json)')
    .option('--listen <host:port>', 'address to listen on', DEFAULT_LISTEN)
    .option('--insecure-no-auth', 'accept writes without a token (throwaway labs only)')
    .action(async (opts: { listen: string; insecureNoAuth?: boolean }) => {
      const { host, port } = parseListen(opts.listen);
      const { buildAdminApp } = await import('../../api/server.ts');
      const store = await ctx.store();
      // The queue dashboard and metrics of the device pipeline, the overview and hNVE provisioning.
      const { servedRoutes } = await import('../../api/served-routes.ts');
      const served = await servedRoutes(store);
      // The queue's connections would keep a refused start alive: close it on any failure.
      const app = await buildAdminApp({
        store,
        token: process.env.NVO_ADMIN_TOKEN,
        insecureNoAuth: opts.insecureNoAuth,
        logger: { level: process.env.NVO_LOG_LEVEL || 'info' },
        extraRoutes: served.plugins,
      }).catch(async (e: unknown) => {
        await served.close();
        throw e;
      });
      await store.redis.ping();
      const address = await app.listen({ host, port });
      process.stderr.write(`nvo: admin API on ${address} (OpenAPI at ${address}/openapi.json)${process.env.NVO_ADMIN_TOKEN ? '' : ' WITHOUT AUTH'}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void app.close().then(() => served.close()).then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
