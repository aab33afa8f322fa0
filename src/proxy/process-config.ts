// The configuration files of the proxy processes (`nvo tenant-proxy --config FILE`, `nvo network-proxy
// --config FILE`): YAML or JSON, checked whole before anything starts, each fault named by its field.
// Secrets may sit in the file or, better, in a file of their own (`secretFile`, relative to the
// configuration file), so the configuration can be shared without them.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { FieldIssue } from '../errors.ts';
import { host, id } from '../model/fields.ts';
import { invalidInput, issuesOf } from '../model/validate.ts';

const listen = z.strictObject({
  host: host.default('127.0.0.1'),
  /** 0 = any free port (the 'listening' log line says which). */
  port: z.number().int('must be a whole number').min(0, 'at least 0').max(65535, 'at most 65535'),
});

/** Prometheus /metrics of this process (the sync workers' and INVITE figures live only here); left out = none. */
const metrics = listen;

const seconds = (what: string) => z.number().positive(`${what} must be above 0 seconds`).max(86_400, 'at most 86400 seconds (a day)');

// Exactly one of `secret` / `secretFile`; the file's content is checked like the inline secret.
const secretSource = {
  secret: z.string().min(16, 'at least 16 characters').max(256, 'at most 256 characters').optional(),
  secretFile: z.string().min(1).optional(),
};

const networkLink = z.strictObject({
  id,
  url: z.string().regex(/^wss?:\/\/[^\s/]+(\/\S*)?$/, 'must be a ws:// or wss:// URL'),
  ...secretSource,
  /** Pods it serves; '*' for all. */
  pods: z.array(z.union([z.literal('*'), id])).min(1, 'name at least one pod, or "*"').default(['*']),
});

export const tenantProxyConfigSchema = z.strictObject({
  id,
  listen,
  networkProxies: z.array(networkLink).min(1, 'a tenant proxy needs at least one network proxy to fork to'),
  /** 408 when a network proxy (or an NVE a NOTIFY went to) does not answer within this. */
  branchTimeoutSeconds: seconds('branchTimeoutSeconds').default(60),
  expires: z
    .strictObject({ min: z.number().int().min(1), max: z.number().int().min(1), default: z.number().int().min(1) })
    .refine((e) => e.min <= e.default && e.default <= e.max, 'needs min <= default <= max')
    .optional(),
  /** How long after a registration ends its sessions are torn down. */
  graceSeconds: seconds('graceSeconds').default(30),
  maxMessageBytes: z.number().int().min(1024).max(16 * 1024 * 1024).optional(),
});

export const networkProxyConfigSchema = z.strictObject({
  id,
  listen,
  ...secretSource,
  /** The devices this proxy configures; left out = every device of the inventory. */
  devices: z.array(id).min(1, 'leave devices out to configure every device').optional(),
  sync: z
    .strictObject({
      /** memory: no devices, applied at once (tests, demos); bullmq: the device pipeline. */
      mode: z.enum(['memory', 'bullmq']).default('bullmq'),
      /** Pipeline workers inside this process (bullmq); 0 leaves syncing to `nvo worker` processes. */
      workers: z.number().int().min(0).max(64).default(1),
      concurrency: z.number().int().min(1).max(1024).optional(),
    })
    .default({ mode: 'bullmq', workers: 1 }),
  /** An INVITE whose devices have not applied within this ends in 504. */
  deadlineSeconds: seconds('deadlineSeconds').default(30),
  metrics: metrics.optional(),
});

export type TenantProxyConfig = Omit<z.output<typeof tenantProxyConfigSchema>, 'networkProxies'> & {
  networkProxies: (Omit<z.output<typeof networkLink>, 'secret' | 'secretFile'> & { secret: string })[];
};
export type NetworkProxyConfig = Omit<z.output<typeof networkProxyConfigSchema>, 'secret' | 'secretFile'> & { secret: string };

function check<S extends z.ZodType>(schema: S, input: unknown, issues: FieldIssue[]): z.output<S> | null {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  issues.push(...issuesOf(r.error));
  return null;
}

/** Resolves `secret` / `secretFile` at `field` (a path prefix like `networkProxies[1].`); records issues. */
function secretOf(src: { secret?: string; secretFile?: string }, field: string, baseDir: string, issues: FieldIssue[]): string {
  if (src.secret !== undefined && src.secretFile !== undefined) {
    issues.push({ field: `${field}secretFile`, reason: 'give secret or secretFile, not both' });
    return '';
  }
  if (src.secret !== undefined) return src.secret;
  if (src.secretFile === undefined) {
    issues.push({ field: `${field}secret`, reason: 'is required (or secretFile)' });
    return '';
  }
  const path = resolve(baseDir, src.secretFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    issues.push({ field: `${field}secretFile`, reason: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    return '';
  }
  if (text.length < 16 || text.length > 256) issues.push({ field: `${field}secretFile`, reason: `the secret in ${path} must be 16 to 256 characters (it has ${text.length})` });
  return text;
}

/** `file` is the configuration file's path: secretFile paths are relative to its directory. */
export function parseTenantProxyConfig(input: unknown, file: string): TenantProxyConfig {
  const issues: FieldIssue[] = [];
  const c = check(tenantProxyConfigSchema, input, issues);
  if (!c) throw invalidInput('tenant proxy configuration', issues);
  const dir = dirname(resolve(file));
  const networkProxies = c.networkProxies.map((n, i) => {
    const { secret: _s, secretFile: _f, ...rest } = n;
    return { ...rest, secret: secretOf(n, `networkProxies[${i}].`, dir, issues) };
  });
  const seen = new Map<string, number>();
  networkProxies.forEach((n, i) => {
    const first = seen.get(n.id);
    if (first !== undefined) issues.push({ field: `networkProxies[${i}].id`, reason: `'${n.id}' is already networkProxies[${first}]` });
    else seen.set(n.id, i);
  });
  if (issues.length) throw invalidInput('tenant proxy configuration', issues);
  return { ...c, networkProxies };
}

export function parseNetworkProxyConfig(input: unknown, file: string): NetworkProxyConfig {
  const issues: FieldIssue[] = [];
  const c = check(networkProxyConfigSchema, input, issues);
  if (!c) throw invalidInput('network proxy configuration', issues);
  const { secret: _s, secretFile: _f, ...rest } = c;
  const secret = secretOf(c, '', dirname(resolve(file)), issues);
  c.devices?.forEach((d, i) => {
    if (c.devices!.indexOf(d) !== i) issues.push({ field: `devices[${i}]`, reason: `'${d}' is listed twice` });
  });
  if (issues.length) throw invalidInput('network proxy configuration', issues);
  return { ...rest, secret };
}
