// `nvo apply -f` and `nvo pod add --replace` against a store where a real session (hNVE REGISTER and
// INVITE through the proxies of test/proxy/harness.ts) uses pod1's ToRs: dropping one is refused
// with one line naming the device and the count, and Redis stays byte-for-byte as it was.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INVENTORY, startStack, type Stack } from '../proxy/harness.ts';
import { runNvo } from '../support/nvo-cli.ts';

let s: Stack | undefined;
const dir = mkdtempSync(join(tmpdir(), 'nvo-cli-sessions-'));
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('nvo apply with live sessions', () => {
  it('refuses to drop a ToR of a pod in use, exit 1, store unchanged; fine after BYE', async () => {
    s = await startStack();
    const nvo = (args: string[]) => runNvo(args, { NVO_PREFIX: s!.t.prefix, NVO_ADMIN_TOKEN: '' });
    const h1 = await s.agent('h1');
    expect((await h1.register(60)).status).toBe(200);
    const a1 = await h1.invite({ mac: '02:00:00:00:01:01' }, 'acme');
    expect(a1.status, a1.reason).toBe(200);

    const pod1 = INVENTORY.pods[0]!;
    const drained = join(dir, 'drained.json');
    writeFileSync(drained, JSON.stringify({ ...INVENTORY, pods: [{ ...pod1, tors: ['tor1'] }, INVENTORY.pods[1]] }, null, 2));
    const refused = async (args: string[], line: RegExp) => {
      const before = await s!.t.snapshot();
      const r = await nvo(args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(line);
      expect(await s!.t.snapshot()).toBe(before);
    };
    await refused(['apply', '-f', drained], /^nvo: error: .*cannot remove ToR 'tor2' from pod 'pod1': device 'tor2' is still used by 1 session$/m);
    await refused(['apply', '--dry-run', '-f', drained], /cannot remove ToR 'tor2' from pod 'pod1': device 'tor2' is still used by 1 session$/m);
    await refused(['pod', 'add', 'pod1', '--replace', '--tors', 'tor1', '--wan-gw', 'wan1', '--tor-gw', 'tgw1'], /^nvo: error: cannot remove ToR 'tor2' from pod 'pod1': device 'tor2' is still used by 1 session$/m);

    expect((await h1.bye(a1.callId)).status).toBe(200);
    const ok = await nvo(['apply', '-f', drained]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: 'replaced pod pod1\n' });
  }, 120_000);
});
