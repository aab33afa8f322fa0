// Host-key helpers of the SSH transport: fingerprints as ssh-keygen prints them, known_hosts lookup
// with plain and hashed host names (checked against keys and files made by ssh-keygen itself).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, knownKeys } from '../../../src/drivers/netconf/transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'nvo-known-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
const [type, blob] = readFileSync(join(dir, 'k.pub'), 'utf8').trim().split(' ') as [string, string];

describe('host keys', () => {
  it('prints the fingerprint exactly as ssh-keygen -l does', () => {
    const printed = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')]).toString().split(' ')[1];
    expect(fingerprint(Buffer.from(blob, 'base64'))).toBe(printed);
  });

  it('finds plain and hashed known_hosts entries for host:port, and nothing for another port', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `# comment\n[192.0.2.5]:830 ${type} ${blob}\n[192.0.2.6]:830 ${type} ${blob}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' }); // hash every name
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('|1|');
    expect(knownKeys(text, '192.0.2.5', 830).has(blob)).toBe(true);
    expect(knownKeys(text, '192.0.2.5', 831).size).toBe(0);
    expect(knownKeys(`192.0.2.7,other ${type} ${blob}\n`, '192.0.2.7', 22).has(blob)).toBe(true);
    expect(knownKeys(`192.0.2.7 ${type} ${blob}\n`, '192.0.2.8', 22).size).toBe(0);
  });
});
