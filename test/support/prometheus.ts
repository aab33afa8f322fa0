// GET a /metrics endpoint and parse it with prometheus_client's own text parser (python3-prometheus-client,
// an independent reader of the exposition format): every sample by name, with its labels. And, for
// tests in the same process as the metric, a prom-client metric's value read directly.
import { execFile } from 'node:child_process';
import { expect } from 'vitest';

export type Samples = Record<string, [Record<string, string>, number][]>;

const PARSE = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.setdefault(s.name, []).append([s.labels, s.value])
print(json.dumps(out))
`;

export async function scrape(url: string, init?: RequestInit): Promise<Samples> {
  const res = await fetch(url, init);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const child = execFile('/usr/bin/python3', ['-c', PARSE], { maxBuffer: 16 << 20 });
  const done = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`prometheus parser exited ${code}: ${err}`))));
  });
  child.stdin!.end(text);
  return JSON.parse(await done) as Samples;
}

/** The value of the sample `name` whose labels include `labels`, or undefined. */
export const sample = (s: Samples, name: string, labels: Record<string, string> = {}): number | undefined =>
  s[name]?.find(([l]) => Object.entries(labels).every(([k, v]) => l[k] === v))?.[1];

/** A prom-client counter's value summed over the series whose labels include `labels`; 0 when none has. */
export async function counterValue(c: { get(): Promise<{ values: { labels: object; value: number }[] }> }, labels: Record<string, string>): Promise<number> {
  const v = (await c.get()).values.filter((x) => Object.entries(labels).every(([k, want]) => (x.labels as Record<string, unknown>)[k] === want));
  return v.reduce((n, x) => n + x.value, 0);
}
