// npm run bench:xmpp — pushes per second and round-trip p50/p99 through a private Prosody, one push
// after the other and with 100 in flight. Each push adds one MAC entry and removes one; the round trip is apply() to
// the agent's acknowledgement (render, IQ out, agent checks the revision and applies it to the
// recorder data plane, IQ result back). The driver and the agents run in this one process.
import os from 'node:os';
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

async function main(): Promise<void> {
  const prosody = await createProsody();
  const redis = connectRedis(undefined, { name: 'nvo-bench-xmpp' });
  const prefix = `bench-xmpp-${process.pid}:`;
  const agents: GatewayAgent[] = [];
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
    for (const d of devices) {
      const a = new GatewayAgent({ service: prosody.service, jid: d.jid!, password: 'bench', controller: `nvo@${prosody.domain}`, dataPlane: new RecorderDataPlane() });
      const announced = new Promise((r) => a.once('announced', r));
      await a.start();
      await announced;
      agents.push(a);
    }
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
    console.log(`nvo XMPP push benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, Prosody on 127.0.0.1, ${AGENTS} agents in-process`);

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
    for (const [n, a] of agents.entries()) if (a.revision !== rev[n]) throw new Error(`agent gw${n} is at ${a.revision}, expected ${rev[n]}`);
  } finally {
    for (const a of agents) await a.stop();
    await driver?.stop();
    const left = await redis.keys(`${prefix}*`);
    if (left.length) await redis.del(...left);
    redis.disconnect();
    await prosody.destroy();
  }
}

await main();
