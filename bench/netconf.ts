// npm run bench:netconf — sequential edit-config + commit round trips against one real netconfd
// (the lab server: netconfd behind a private sshd) for nvo's client, node-netconf and
// python3-ncclient in the same run, then nvo's pipelined throughput on one session. Each edit
// rewrites one VLAN's name so the datastore stays small (commit cost grows with its size).
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { managementOf, startNetconfServers, type NetconfInstance } from '../lab/netconf-server.ts';
import * as op from '../src/drivers/netconf/operations.ts';
import { NetconfSession } from '../src/drivers/netconf/rpc.ts';
import { pct } from './suite/load.ts';

const N = Number(process.env.BENCH_N ?? 300);
const PIPELINE_SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const here = dirname(fileURLToPath(import.meta.url));
const LAB = 'urn:nvo3:lab';

interface NodeNetconfClient {
  open(cb: (err?: Error) => void): void;
  rpc(req: unknown, cb: (err: Error | null, reply: unknown) => void): void;
  close(cb?: (err?: Error) => void): void;
}
const require = createRequire(import.meta.url);
const nodeNetconf = require('node-netconf') as { Client: new (o: Record<string, unknown>) => NodeNetconfClient };

const fmt = (xs: number[]) => `median ${pct(xs, 50).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms  (n=${xs.length})`;

export async function nvoSequential(n: NetconfInstance): Promise<number[]> {
  const s = await NetconfSession.open(managementOf(n));
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>100</id><name>nvo-${i}</name></vlan></nvo>` });
    await op.commit(s);
    lat.push(performance.now() - t0);
  }
  await op.closeSession(s);
  return lat;
}

export async function nodeNetconfSequential(n: NetconfInstance): Promise<number[]> {
  const c = new nodeNetconf.Client({ host: n.host, port: n.port, username: n.username, password: n.password });
  const call = (req: unknown) => new Promise<unknown>((res, rej) => c.rpc(req, (err, reply) => (err ? rej(err) : res(reply))));
  await new Promise<void>((res, rej) => c.open((err) => (err ? rej(err) : res())));
  const lat: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await call({ 'edit-config': { target: { candidate: null }, config: { nvo: { $: { xmlns: LAB }, vlan: { id: 200, name: `nn-${i}` } } } } });
    await call('commit');
    lat.push(performance.now() - t0);
  }
  await new Promise<void>((res) => c.close(() => res()));
  return lat;
}

export async function ncclientSequential(n: NetconfInstance): Promise<number[]> {
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [join(here, 'ncclient-bench.py'), n.host, String(n.port), n.username, n.password, String(Math.min(N, 100))], { timeout: 300_000 });
  return JSON.parse(stdout) as number[];
}

async function nvoPipelined(n: NetconfInstance, inFlight: number, kind: 'get-config' | 'edit-config'): Promise<number> {
  const s = await NetconfSession.open(managementOf(n));
  let done = 0;
  const end = performance.now() + PIPELINE_SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      while (performance.now() < end) {
        if (kind === 'get-config') await op.getConfig(s, 'running', `<nvo xmlns="${LAB}"><vlan><id>100</id></vlan></nvo>`);
        else await op.editConfig(s, { target: 'candidate', config: `<nvo xmlns="${LAB}"><vlan><id>${400 + w}</id><name>p-${done}</name></vlan></nvo>` });
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - start) / 1000);
  if (kind === 'edit-config') await op.discardChanges(s);
  await op.closeSession(s);
  return rate;
}

async function main(): Promise<void> {
  const servers = await startNetconfServers({ count: 1 });
  try {
    const n = servers.instances[0]!;
    console.log(`nvo NETCONF bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.versions.node}, netconfd behind OpenSSH on 127.0.0.1`);
    console.log(`sequential edit-config + commit, ${N} round trips each (ncclient: ${Math.min(N, 100)}):`);
    const nvo = await nvoSequential(n);
    console.log(`  nvo client     ${fmt(nvo)}`);
    const nn = await nodeNetconfSequential(n);
    console.log(`  node-netconf   ${fmt(nn)}`);
    const py = await ncclientSequential(n);
    console.log(`  ncclient       ${fmt(py)}`);
    console.log(`  nvo median / node-netconf median = ${(pct(nvo, 50) / pct(nn, 50)).toFixed(2)}`);
    console.log(`nvo pipelined on one session, ${PIPELINE_SECONDS} s each:`);
    for (const k of [1, 10, 50]) console.log(`  get-config  ${String(k).padStart(2)} in flight: ${(await nvoPipelined(n, k, 'get-config')).toFixed(0)} RPC/s`);
    for (const k of [1, 50]) console.log(`  edit-config ${String(k).padStart(2)} in flight: ${(await nvoPipelined(n, k, 'edit-config')).toFixed(0)} RPC/s`);
  } finally {
    await servers.stop();
  }
}

// `npm run bench` imports the sequential runs above; run directly, this file is bench:netconf.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
