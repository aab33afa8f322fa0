// The agent's file (`nvo agent --config FILE`, YAML): who it is, how it proves it, where the tenant
// proxies are (in order), which data plane it drives, and the VMs it brings up.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { id, ip, mac } from '../../model/fields.ts';
import { formatPath, invalidInput, issuesOf } from '../../model/validate.ts';
import { invalid } from '../../errors.ts';
import { readConfigMapping } from '../config-file.ts';

const url = z.string().regex(/^wss?:\/\/\S+$/, 'must be a ws:// or wss:// URL');
const ifName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name (1-15 letters, digits, ".", "_", "-")');

export const agentConfigSchema = z
  .strictObject({
    nve: id,
    secret: z.string().min(16, 'at least 16 characters').optional(),
    /** A file holding the secret (its first line), relative to the config file. */
    secretFile: z.string().min(1).optional(),
    proxies: z.array(url).min(1, 'name at least one tenant proxy'),
    /** The tenant proxy's id (`to` of requests); informational. */
    proxyId: id.default('tenant-proxy'),
    expires: z.number().int().min(5).max(86_400).default(300),
    dataPlane: z
      .discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('recorder') }),
        z.strictObject({ kind: z.literal('linux'), vtep: ip.optional(), netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(), underlay: ifName.optional(), dstPort: z.number().int().min(1).max(65535).optional() }),
      ], { error: 'must be recorder or linux' })
      .default({ kind: 'recorder' }),
    /** A UNIX socket for local control (`nvo agent ctl`): INVITE, INFO, BYE, REFER and state on a running agent. */
    control: z.string().min(1).max(107, 'at most 107 characters (the limit of a UNIX socket path)').optional(),
    vms: z.array(z.strictObject({ mac, cid: id, ip: ip.optional(), port: ifName.optional(), invite: z.boolean().default(true) })).default([]),
  })
  // `when`: checked even when other fields are wrong too, so every issue is reported in one run.
  .refine((c) => (c.secret === undefined) !== (c.secretFile === undefined), { message: 'give exactly one of secret and secretFile', path: ['secret'], when: () => true });

export type AgentConfig = z.output<typeof agentConfigSchema>;

// `nvo agent`'s flags by the field they set: a bad flag value is reported under the flag the user typed.
const FLAGS: Record<string, string> = {
  nve: '--nve',
  secretFile: '--secret-file',
  // The rule "exactly one of secret and secretFile" sits on `secret`; from flags only --secret-file gives one.
  secret: '--secret-file',
  proxies: '--proxy',
  'dataPlane.kind': '--data-plane',
  'dataPlane.vtep': '--vtep',
  'dataPlane.netns': '--netns',
  'dataPlane.underlay': '--underlay',
  control: '--control',
};

// A field is named by its flag when a flag set it, or when there is no file (flags are then the only
// way to give it): `--nve: is required`, not `nve: is required`, to someone who never saw a `nve` key.
function flagOf(path: readonly PropertyKey[], overrides: Record<string, unknown>, file: string | undefined): string | undefined {
  const field = formatPath(path.filter((p) => typeof p !== 'number'));
  const top = String(path[0]);
  const given = top === 'dataPlane' ? (overrides.dataPlane as Record<string, unknown> | undefined)?.[String(path[1])] : overrides[top];
  return given === undefined && file ? undefined : FLAGS[field];
}

/** Linux data-plane flags given without a kind from --data-plane or the file: what the reason names. */
function kindlessFlags(merged: Record<string, unknown>, overrides: Record<string, unknown>): string[] {
  const dp = merged.dataPlane as Record<string, unknown> | undefined;
  if (!dp || typeof dp !== 'object' || dp.kind !== undefined) return [];
  return Object.keys((overrides.dataPlane as Record<string, unknown> | undefined) ?? {}).map((k) => FLAGS[`dataPlane.${k}`] ?? k);
}

/** Reads and checks the file; `overrides` (from flags) win over its fields. */
export function loadAgentConfig(file: string | undefined, overrides: Record<string, unknown> = {}): AgentConfig & { secretValue: string } {
  const doc: Record<string, unknown> = file ? readConfigMapping(file) : {};
  const merged: Record<string, unknown> = { ...doc, ...overrides };
  if (overrides.secretFile !== undefined) delete merged.secret;
  if (overrides.secret !== undefined) delete merged.secretFile;
  if (overrides.dataPlane !== undefined && doc.dataPlane && typeof doc.dataPlane === 'object') merged.dataPlane = { ...(doc.dataPlane as object), ...(overrides.dataPlane as object) };
  const r = agentConfigSchema.safeParse(merged);
  if (!r.success) {
    const flags = new Map(r.error.issues.map((i) => [formatPath(i.path), flagOf(i.path, overrides, file)]));
    const kindless = kindlessFlags(merged, overrides);
    const issues = issuesOf(r.error).map((i) => {
      const field = flags.get(i.field) ?? i.field;
      if (i.field === 'dataPlane.kind' && kindless.length) return { field: '--data-plane', reason: `is required with ${kindless.join(', ')}: give --data-plane linux` };
      if (i.field === 'secret' && !file && merged.secretFile === undefined) return { field, reason: 'is required' };
      return { ...i, field };
    });
    throw invalidInput(file ? `agent config ${file}` : 'agent options', issues);
  }
  const c = r.data;
  const secretField = overrides.secretFile !== undefined ? '--secret-file' : 'secretFile';
  let secretValue = c.secret;
  if (secretValue === undefined) {
    const path = resolve(file ? dirname(file) : '.', c.secretFile!);
    try {
      secretValue = readFileSync(path, 'utf8').split('\n')[0]!.trim();
    } catch (e) {
      throw invalid(secretField, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (secretValue.length < 16) throw invalid(secretField, 'the secret must be at least 16 characters');
  return { ...c, secretValue };
}
