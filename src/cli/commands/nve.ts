// nvo nve add|list|show|rm — use case 3: hypervisor NVEs as the admin provisions them (pod, VTEP,
// encapsulations, the tenant proxy to use, the secret for the digest). The secret is read from a
// file (never from the command line, where `ps` and shell history would keep it) and never printed.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { invalid } from '../../errors.ts';
import { publicView, type HnveView } from '../../model/hnve.ts';
import { commaList, given, type CliContext } from '../context.ts';
import { list } from '../table.ts';

function readSecret(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw invalid('--secret-file', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function registerNve(program: Command, ctx: CliContext): void {
  const group = program.command('nve').description('hypervisor NVEs (use case 3): pod, VTEP, encapsulations, tenant proxy, secret');
  const store = async () => {
    const inventory = await ctx.store();
    const { NveStore } = await import('../../store/nve-store.ts');
    return { inventory, nves: new NveStore(inventory.redis, inventory.k, inventory) };
  };

  group
    .command('add <id>')
    .description('provision an hNVE (its secret from --secret-file, 16-256 characters)')
    .requiredOption('--pod <pod>', 'the L2 pod the hypervisor sits in')
    .requiredOption('--vtep <ip>', "the hypervisor's VTEP address")
    .requiredOption('--secret-file <file>', 'file holding the shared secret for the digest ("-" for stdin)')
    .option('--encap <list>', 'encapsulations it supports: vxlan,nvgre,mpls-over-gre,geneve (default vxlan)', commaList)
    .option('--tenant-proxy <id>', 'the tenant proxy it must register with')
    .option('--replace', 'replace the hNVE if it exists')
    .option('--json', 'print the result (without the secret) as JSON')
    .action(async (id: string, o: { pod: string; vtep: string; secretFile: string; encap?: string[]; tenantProxy?: string; replace?: boolean; json?: boolean }) => {
      const input = { id, ...given({ pod: o.pod, vtep: o.vtep, encapsulations: o.encap, tenantProxy: o.tenantProxy }), secret: readSecret(o.secretFile) };
      const { nves } = await store();
      const exists = o.replace ? (await nves.get(id)) !== null : false;
      const saved = publicView(await nves.put(input, { replace: exists }));
      if (o.json) ctx.json(saved);
      else ctx.print(`${exists ? 'replaced' : 'created'} hNVE ${id}`);
    });

  group
    .command('list')
    .alias('ls')
    .description('list hNVEs (no secrets) with their registration')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { inventory, nves } = await store();
      const { Registrar } = await import('../../proxy/tenant/registrar.ts');
      const reg = new Registrar(inventory.redis, inventory.k);
      const rows: (HnveView & { registered: boolean; expiresAt: string | null })[] = [];
      for (const h of await nves.list()) {
        const r = await reg.get(h.id);
        rows.push({ ...publicView(h), registered: r !== null, expiresAt: r?.expiresAt ?? null });
      }
      if (o.json) return ctx.json(rows);
      ctx.table(rows, [
        { header: 'ID', value: (h) => h.id },
        { header: 'POD', value: (h) => h.pod },
        { header: 'VTEP', value: (h) => h.vtep },
        { header: 'ENCAPS', value: (h) => list(h.encapsulations) },
        { header: 'TENANT PROXY', value: (h) => h.tenantProxy },
        { header: 'REGISTERED', value: (h) => h.registered },
        { header: 'EXPIRES', value: (h) => h.expiresAt },
      ]);
    });

  group
    .command('show <id>')
    .description('show one hNVE (no secret), its registration and sessions')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { inventory, nves } = await store();
      const { Registrar } = await import('../../proxy/tenant/registrar.ts');
      const { Sessions } = await import('../../proxy/tenant/sessions.ts');
      const h = publicView(await nves.show(id));
      const registration = await new Registrar(inventory.redis, inventory.k).get(id);
      const sessions = await new Sessions(inventory.redis, inventory.k).ofNve(id);
      const out = { ...h, registration, sessions };
      if (o.json) ctx.json(out);
      else ctx.yaml(out);
    });

  group
    .command('rm <id>')
    .alias('delete')
    .description('delete an hNVE (refused while it has sessions)')
    .action(async (id: string) => {
      const { nves } = await store();
      await nves.remove(id);
      ctx.print(`deleted hNVE ${id}`);
    });
}
