// The gateway agent's settings (`nvo gateway-agent`, flags or a YAML `--config` file): its JID and
// password, the XMPP server, the controller's JID it takes pushes from, and the data plane it drives.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ip } from '../../model/fields.ts';
import { invalidInput, issuesOf } from '../../model/validate.ts';
import { invalid, type FieldIssue } from '../../errors.ts';
import { readConfigMapping } from '../config-file.ts';

// RFC 7622 §3: localpart@domainpart[/resourcepart]; the agent needs a localpart (its own account).
const jid = z.string().regex(/^[^\s@/"&'<>:]+@[^\s@/]+(\/\S+)?$/, 'must be a JID (user@domain, optionally /resource)');
const service = z.string().regex(/^xmpps?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/, 'must be an xmpp://host:port or xmpps://host:port URL');
const ifName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name (1-15 letters, digits, ".", "_", "-")');

export const gatewayAgentConfigSchema = z
  .strictObject({
    jid,
    password: z.string().min(1, 'must not be empty').optional(),
    /** A file whose first line is the password, relative to the config file. */
    passwordFile: z.string().min(1).optional(),
    service,
    controller: jid,
    // A gateway has no REGISTER to learn its VTEP from: the Linux data plane needs it given.
    dataPlane: z
      .discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('recorder') }),
        z.strictObject({
          kind: z.literal('linux'),
          vtep: ip,
          netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a namespace name (1-64 letters, digits, ".", "_", "-")').optional(),
          underlay: ifName.optional(),
          trunk: ifName.optional(),
          dstPort: z.number().int('must be a whole number').min(1, 'must be 1..65535').max(65535, 'must be 1..65535').optional(),
        }),
      ], { error: 'must be recorder or linux' })
      .default({ kind: 'recorder' }),
  })
  // `when`: checked even when other fields are wrong too, so every issue is reported in one run.
  .refine((c) => (c.password === undefined) !== (c.passwordFile === undefined), { message: 'give exactly one of password and passwordFile (--password-file)', path: ['passwordFile'], when: () => true });

// `nvo gateway-agent`'s flags by the field they set. A field is named by its flag when a flag set it,
// or when there is no file (flags are then the only way to give it).
const FLAGS: Record<string, string> = {
  jid: '--jid',
  passwordFile: '--password-file',
  service: '--service',
  controller: '--controller',
  'dataPlane.kind': '--data-plane',
  'dataPlane.vtep': '--vtep',
  'dataPlane.netns': '--netns',
  'dataPlane.underlay': '--underlay',
  'dataPlane.trunk': '--trunk',
  'dataPlane.dstPort': '--dst-port',
};

function withFlags(issues: FieldIssue[], file: string | undefined, overrides: Record<string, unknown>, merged: Record<string, unknown>): FieldIssue[] {
  const fromFlags = (overrides.dataPlane ?? {}) as Record<string, unknown>;
  const dp = merged.dataPlane as Record<string, unknown> | undefined;
  const kindless = dp && typeof dp === 'object' && dp.kind === undefined ? Object.keys(fromFlags).map((k) => FLAGS[`dataPlane.${k}`] ?? k) : [];
  return issues.map((i) => {
    if (i.field === 'dataPlane.kind' && kindless.length) return { field: '--data-plane', reason: `is required with ${kindless.join(', ')}: give --data-plane linux` };
    const [top, sub] = i.field.split('.');
    const given = top === 'dataPlane' ? fromFlags[sub ?? 'kind'] : overrides[top!];
    const flag = FLAGS[i.field];
    if (i.field === 'passwordFile' && !file && merged.password === undefined && merged.passwordFile === undefined) return { field: '--password-file', reason: 'is required' };
    return flag && (given !== undefined || !file) ? { ...i, field: flag } : i;
  });
}

export type GatewayAgentConfig = z.output<typeof gatewayAgentConfigSchema>;

/** Reads and checks the file (if any) with `overrides` (from flags) winning, then reads the password. */
export function loadGatewayAgentConfig(file: string | undefined, overrides: Record<string, unknown> = {}): GatewayAgentConfig & { passwordValue: string } {
  const doc: Record<string, unknown> = file ? readConfigMapping(file) : {};
  const merged: Record<string, unknown> = { ...doc, ...overrides };
  if (overrides.passwordFile !== undefined) delete merged.password;
  // --vtep alone refines the file's Linux data plane; --data-plane of another kind replaces it.
  const fromFile = doc.dataPlane as Record<string, unknown> | undefined;
  const fromFlags = overrides.dataPlane as Record<string, unknown> | undefined;
  if (fromFlags && fromFile && typeof fromFile === 'object' && (fromFlags.kind === undefined || fromFlags.kind === fromFile.kind)) merged.dataPlane = { ...fromFile, ...fromFlags };
  const r = gatewayAgentConfigSchema.safeParse(merged);
  if (!r.success) throw invalidInput(file ? `gateway agent config ${file}` : 'gateway agent options', withFlags(issuesOf(r.error), file, overrides, merged));
  const c = r.data;
  return { ...c, passwordValue: c.password ?? readPassword(resolve(file && overrides.passwordFile === undefined ? dirname(file) : '.', c.passwordFile!)) };
}

function readPassword(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid('passwordFile', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const first = text.split('\n')[0]!.replace(/\r$/, '');
  if (first === '') throw invalid('passwordFile', `the first line of ${path} is empty (it must be the password)`);
  return first;
}
