// npm run bench:xmpp — pushes per second and round-trip p50/p99 through a private Prosody, one push
// after the other and with 100 in flight. Each push adds one MAC entry and removes one; the round trip is apply() to
// the agent's acknowledgement (render, IQ out, agent checks the revision and applies it to the
// recorder data plane, IQ result back). The agents run in a child process (this file with --agents),
// as they would on other machines; the two processes and Prosody share the machine's cores.
import os from 'node:os';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createProsody } from '../lab/prosody-server.ts';
import { connectRedis } from '../src/store/redis.ts';
import { keys } from '../src/store/keys.ts';
import { DeviceStateStore } from '../src/store/device-state.ts';
import { XmppDriver, type XmppDevice } from '../src/drivers/xmpp/xmpp-driver.ts';
import { GatewayAgent } from '../src/agent/gateway/gateway-agent.ts';
import { RecorderDataPlane } from '../src/dataplane/recorder.ts';
import { emptyConfig, type DeviceChange } from '../src/model/device-config.ts';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 2000);
const PIPELINED = Number(process.env.BENCH_PIPELINED ?? 10000);
const IN_FLIGHT = 100;
const AGENTS = 4;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mac = (dev: number, i: number) => ({ vni: 5000, mac: `02:${dev.toString(16).padStart(2, '0')}:00:${[16, 8, 0].map((s) => ((i >> s) & 255).toString(16).padStart(2, '0')).join(':')}`, vtep: '192.0.2.10' });

// A VM's MAC arrives and the previous one leaves: the agent's table stays small, so the figures measure
// the push path and not the recorder's growing table.
function macChange(dev: number, i: number): DeviceChange {
  return { merge: { ...emptyConfig(), macs: [mac(dev, i)] }, remove: { ...emptyConfig(), macs: i > 1 ? [mac(dev, i - 1)] : [] } };
}

// Child mode: start the agents, say "ready" once each has announced, run until stdin closes.
async function agentsMain(service: string, domain: string): Promise<void> {
  const agents: GatewayAgent[] = [];
  for (let n = 0; n < AGENTS; n++) {
    const a = new GatewayAgent({ service, jid: `gw${n}@${domain}`, password: 'bench', controller: `nvo@${domain}`, dataPlane: new RecorderDataPlane() });
    const announced = once(a, 'announced');
    await a.start();
    await announced;
    agents.push(a);
  }
  console.log('ready');
  process.stdin.resume();
  await once(process.stdin, 'end');
  for (const a of agents) await a.stop();
}

async function main(): Promise<void> {
  const prosody = await createProsody();
  const redis = connectRedis(undefined, { name: 'nvo-bench-xmpp' });
  const prefix = `bench-xmpp-${process.pid}:`;
  let child: ReturnType<typeof spawn> | null = null;
  let driver: XmppDriver | null = null;
  try {
    await prosody.register('nvo', 'bench');
    const devices: XmppDevice[] = [];
    for (let n = 0; n < AGENTS; n++) {
      await prosody.register(`gw${n}`, 'bench');
      devices.push({ id: `gw${n}`, jid: `gw${n}@${prosody.domain}` });
    }
    await prosody.start();
    driver = new XmppDriver({ service: prosody.service, jid: `nvo@${prosody.domain}`, password: 'bench', store: new DeviceStateStore(redis, keys(prefix)), deviceByJid: (b) => devices.find((d) => d.jid === b), timeoutMs: 30_000 });
    await driver.start();
    child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--agents', prosody.service, prosody.domain], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.once('line', (l) => (l === 'ready' ? resolve() : reject(new Error(`agents said: ${l}`))));
      child!.once('exit', (code) => reject(new Error(`agents exited with ${code}`)));
    });
    const rev = devices.map(() => 0);
    const push = async (n: number) => {
      const base = rev[n]!;
      const revision = ++rev[n]!;
      const change = macChange(n, revision);
      const t0 = performance.now();
      await driver!.apply(devices[n]!, { base, revision, change, config: change.merge });
      return performance.now() - t0;
    };

    const report = (label: string, rtts: number[], ms: number) => {
      rtts.sort((a, b) => a - b);
      console.log(`${label.padEnd(26)} ${String(rtts.length).padStart(6)} pushes  ${(rtts.length / (ms / 1000)).toFixed(0).padStart(6)} pushes/s  p50 ${pct(rtts, 50).toFixed(2)} ms  p99 ${pct(rtts, 99).toFixed(2)} ms`);
    };

    for (let i = 0; i < 200; i++) await push(i % AGENTS); // warm-up: JIT, TCP windows
    console.log(`nvo XMPP push benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, Prosody on 127.0.0.1, ${AGENTS} agents in a second process`);

    let rtts: number[] = [];
    let t0 = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) rtts.push(await push(0));
    report('sequential (1 in flight)', rtts, performance.now() - t0);

    // At most IN_FLIGHT pushes outstanding, spread over the agents; each agent's pushes leave in
    // revision order on the one stream, so they also arrive (and apply) in order.
    rtts = [];
    t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      let issued = 0;
      let done = 0;
      const issue = () => {
        while (issued < PIPELINED && issued - done < IN_FLIGHT) {
          const n = issued++ % AGENTS;
          push(n).then((rtt) => {
            rtts.push(rtt);
            if (++done === PIPELINED) resolve();
            else issue();
          }, reject);
        }
      };
      issue();
    });
    report(`${IN_FLIGHT} in flight`, rtts, performance.now() - t0);
    for (const [n, d] of devices.entries()) {
      const st = await driver.state(d);
      if (st.revision !== rev[n]) throw new Error(`agent gw${n} is at ${st.revision}, expected ${rev[n]}`);
    }
  } finally {
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.stdin!.end();
      await exited;
    }
    await driver?.stop();
    const left = await redis.keys(`${prefix}*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
    await prosody.destroy();
  }
}

if (process.argv[2] === '--agents') await agentsMain(process.argv[3]!, process.argv[4]!);
else await main();
