// REGISTER (use case 3): {expires?} — register or refresh for `expires` seconds (clamped to the
// proxy's range, as RFC 3261 §10.2.8 lets a registrar do), or de-register with 0.
import { z } from 'zod';
import { parseInput } from '../../model/validate.ts';
import type { FinalAnswer } from '../protocol/messages.ts';
import { StatusError } from '../protocol/status.ts';
import type { RequestContext } from '../transport/ws-server.ts';
import type { TenantDeps } from './deps.ts';

const registerBody = z.strictObject({ expires: z.number().int('must be a whole number of seconds').min(0).max(2 ** 31 - 1).optional() });

export function registerHandler(d: TenantDeps) {
  return async (ctx: RequestContext): Promise<FinalAnswer> => {
    const body = parseInput(registerBody, ctx.req.body, 'REGISTER', ['body']);
    const nve = await d.nves.show(ctx.identity);
    if (nve.tenantProxy && nve.tenantProxy !== d.proxyId) {
      throw new StatusError(403, `${nve.id} is provisioned for tenant proxy ${nve.tenantProxy}, not ${d.proxyId}`, { tenantProxy: nve.tenantProxy });
    }
    if (body.expires === 0) {
      await d.registrar.remove(nve.id);
      d.log.info({ nve: nve.id }, 'de-registered');
      return { status: 200, body: { expires: 0 } };
    }
    const expires = Math.min(d.expires.max, Math.max(d.expires.min, body.expires ?? d.expires.default));
    const now = Date.now();
    await d.registrar.put(
      {
        nve: nve.id,
        pod: nve.pod,
        vtep: nve.vtep,
        callId: ctx.req.callId,
        proc: d.proc,
        conn: ctx.conn.id,
        registeredAt: new Date(now).toISOString(),
        expiresAt: new Date(now + expires * 1000).toISOString(),
      },
      expires,
    );
    return { status: 200, body: { expires, pod: nve.pod, vtep: nve.vtep, encapsulations: nve.encapsulations } };
  };
}
