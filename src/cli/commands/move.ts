// nvo move HNVE --to NEW-HNVE | --vtep ADDRESS: the admin's REFER (use case 6). The request goes to
// the tenant proxies through Redis (the one that claims it runs the move); its progress comes back
// as the NOTIFYs an hNVE would get (sipfrag lines), printed as they arrive. Exit 0 on 2xx.
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { invalid, notFound, NvoError } from '../../errors.ts';
import { referKeys } from '../../proxy/tenant/refer.ts';
import { NveStore } from '../../store/nve-store.ts';
import type { CliContext } from '../context.ts';

export function registerMove(program: Command, ctx: CliContext): void {
  program
    .command('move <hnve>')
    .description("move every session of an hNVE to another hNVE, make-before-break (REFER), and follow its progress")
    .option('--to <hnve>', 'the hNVE that takes the sessions')
    .option('--vtep <address>', 'or: the registered hNVE with this VTEP')
    .option('--timeout <seconds>', 'give up waiting for the final status after this long', '120')
    .option('--json', 'print each progress message as JSON')
    .action(async (source: string, o: { to?: string; vtep?: string; timeout: string; json?: boolean }) => {
      if ((o.to === undefined) === (o.vtep === undefined)) throw invalid('--to', 'give exactly one of --to and --vtep');
      if (o.vtep !== undefined && isIP(o.vtep) === 0) throw invalid('--vtep', `must be an IPv4 or IPv6 address, got '${o.vtep}'`);
      const timeoutS = Number(o.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 86_400) throw invalid('--timeout', `must be a number of seconds in (0, 86400], got '${o.timeout}'`);
      if (o.to === source) throw invalid('--to', `${source} cannot move to itself`);
      const store = await ctx.store();
      // What the CLI can check itself, before asking a proxy: both ends are provisioned hNVEs. Whether
      // they are registered, in one pod, and hold sessions is the proxy's answer (404/488/481).
      const nves = new NveStore(store.redis, store.k, store);
      for (const [option, nve] of [['<hnve>', source], ['--to', o.to]] as const) {
        if (nve !== undefined && (await nves.get(nve)) === null) throw notFound(`hNVE (${option})`, nve);
      }
      const rk = referKeys(store.k);
      const referId = randomUUID();
      const sub = store.redis.duplicate();
      try {
        const final = new Promise<{ status: number; reason: string }>((resolve) => {
          sub.on('message', (_c: string, raw: string) => {
            const m = JSON.parse(raw) as { status: number; reason: string; final: boolean; sipfrag: string };
            if (o.json) ctx.json(m);
            else ctx.print(m.sipfrag);
            if (m.final) resolve(m);
          });
        });
        await sub.subscribe(rk.progress(referId));
        const heard = await store.redis.publish(rk.requests, JSON.stringify({ referId, source, ...(o.to ? { to: o.to } : { vtep: o.vtep }) }));
        if (heard === 0) throw new NvoError('unavailable', 'no tenant proxy is running on this Redis to carry out the move');
        const timeout = new Promise<never>((_r, reject) => setTimeout(() => reject(new NvoError('timeout', `no final status within ${timeoutS} s (move ${referId})`)), timeoutS * 1000).unref());
        const r = await Promise.race([final, timeout]);
        if (r.status >= 300) process.exitCode = 1;
      } finally {
        sub.disconnect();
      }
    });
}
