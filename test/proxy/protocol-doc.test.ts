// docs/protocol.md is what an agent in another language is written from (issue 9, item 1): every
// method has an example exchange, every status code the proxies can send is in the table and has an
// example answer, and every example that is whole JSON is a message the codec accepts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/proxy/protocol/codec.ts';
import { METHODS } from '../../src/proxy/protocol/messages.ts';
import { REASONS } from '../../src/proxy/protocol/status.ts';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/protocol.md'), 'utf8');
const lines = doc.split('\n');
/** `→ {…}` / `← {…}` example lines, arrow and JSON text apart. */
const examples = lines.flatMap((l) => {
  const m = /^(→|←) (\{.*)$/.exec(l.trim());
  return m ? [{ arrow: m[1]!, text: m[2]! }] : [];
});
const statuses = Object.keys(REASONS).map(Number);

describe('docs/protocol.md', () => {
  it('has a table row for exactly the status codes the code can send, each with its reason phrase', () => {
    const rows = lines.flatMap((l) => {
      const m = /^\| (\d{3}) ([^|]+?) \|/.exec(l);
      return m ? [[Number(m[1]), m[2]!] as const] : [];
    });
    expect(rows.map(([n]) => n).sort()).toEqual([...statuses].sort());
    for (const [n, phrase] of rows) expect(phrase).toBe(REASONS[n as keyof typeof REASONS]);
  });

  it('shows an example answer for every status code', () => {
    const shown = new Set(examples.filter((e) => e.arrow === '←').flatMap((e) => [...e.text.matchAll(/"status":(\d{3})/g)].map((m) => Number(m[1]))));
    expect(statuses.filter((n) => !shown.has(n))).toEqual([]);
    // 503 is shown with its Retry-After.
    expect(examples.some((e) => /"status":503/.test(e.text) && /"retryAfter":\d+/.test(e.text))).toBe(true);
  });

  it('has a section with an example request for every method', () => {
    for (const m of METHODS) {
      expect(lines.some((l) => l.startsWith(`### ${m}`))).toBe(true);
      // NOTIFY travels from the proxy to the hNVE; the others from the hNVE.
      expect(examples.some((e) => e.text.startsWith(`{"method":"${m}"`)), m).toBe(true);
    }
  });

  it('writes every whole-JSON example as a message the codec accepts, or refuses as documented', () => {
    const isJson = (t: string) => {
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    };
    // A request the codec itself refuses is shown with its answer right after, without `method`
    // (the codec answers before it knows one): that answer must be exactly what the codec says.
    const refusedAt = new Set<number>();
    examples.forEach((e, i) => {
      const next = examples[i + 1];
      if (e.arrow !== '→' || !next || next.arrow !== '←' || !isJson(next.text) || 'method' in (JSON.parse(next.text) as object)) return;
      refusedAt.add(i);
      const d = decode(e.text);
      expect(d.kind, e.text).toBe('invalid');
      const documented = JSON.parse(next.text) as { tid: string | null; status: number };
      // JSON.parse's own words differ between Node versions: for text that is not JSON, tid and status.
      if (d.kind === 'invalid') expect(d.reply, e.text).toEqual(isJson(e.text) ? documented : { ...d.reply, tid: documented.tid, status: documented.status });
    });
    expect(refusedAt.size).toBeGreaterThanOrEqual(2);
    // Lines with "…" elide a nonce, a digest or a long list: illustrations, not messages.
    const whole = examples.filter((e, i) => !refusedAt.has(i) && isJson(e.text) && !e.text.includes('…'));
    expect(whole.length).toBeGreaterThan(25);
    for (const e of whole) {
      const d = decode(e.text);
      expect(d.kind, e.text).not.toBe('invalid');
      if (d.kind === 'response') expect(d.msg.reason.length, e.text).toBeGreaterThan(0);
    }
  });
});
