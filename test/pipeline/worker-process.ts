// A separate sync-worker process for the multi-process tests.
//   worker-process.ts PREFIX COMMIT_MS CONCURRENCY              SIMULATED devices shared through Redis
//   worker-process.ts PREFIX 0 CONCURRENCY DEVICES.json [STAGE]  real NETCONF devices (inventory records);
//                                                               with STAGE, every apply pauses there for 60 s;
//                                                               every apply is recorded as JSON {device, start,
//                                                               end, pid} at the end of the list PREFIX + 'test:applies'
// Prints "ready" once its worker listens, and "stage STAGE" when it pauses; SIGTERM closes it cleanly
// (the tests also kill -9 it).
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Device } from '../../src/model/device.ts';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { netconfDriver } from '../../src/pipeline/netconf-adapter.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { SimulatedDevices, simulatedDevice } from '../../src/pipeline/simulated-device.ts';
import { keys } from '../../src/store/keys.ts';
import { connectRedis } from '../../src/store/redis.ts';

const [prefix, commitMs, concurrency, devicesFile, pauseAt] = process.argv.slice(2);
if (!prefix) throw new Error('usage: worker-process.ts PREFIX COMMIT_MS CONCURRENCY [DEVICES.json [STAGE]]');
const redis = connectRedis(undefined, { name: 'nvo-test-worker' });
const drivers = new DriverRegistry();
let lookup = async (id: string): Promise<Device | null> => simulatedDevice(id);
if (devicesFile) {
  const inventory = new Map((JSON.parse(readFileSync(devicesFile, 'utf8')) as Device[]).map((d) => [d.id, d]));
  lookup = async (id) => inventory.get(id) ?? null;
  const inner = netconfDriver({
    confirmTimeoutS: 600,
    onStage: async (stage) => {
      if (stage !== pauseAt) return;
      process.stdout.write(`stage ${stage}\n`);
      await new Promise((r) => setTimeout(r, 60_000));
    },
  });
  // What the device saw, from this side: the overlap check of netconf.test.ts reads it.
  drivers.register('netconf', {
    ...inner,
    apply: async (device, req) => {
      const start = Date.now();
      try {
        return await inner.apply(device, req);
      } finally {
        await redis.rpush(`${prefix}test:applies`, JSON.stringify({ device: device.id, start, end: Date.now(), pid: process.pid }));
      }
    },
  });
} else {
  drivers.register('netconf', new SimulatedDevices(redis, prefix, { commitMs: Number(commitMs ?? 0) }));
}
const pipeline = new Pipeline({
  redis,
  k: keys(prefix),
  drivers,
  lookup,
  log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
  concurrency: Number(concurrency ?? 4),
  timing: { lockDurationMs: 3000, stalledIntervalMs: 1500, busyDelayMs: 100 },
  retry: { attempts: 8, baseDelayMs: 50, maxDelayMs: 400 },
  sweepIntervalMs: 2000,
}).start();
await pipeline.workers[0]!.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void pipeline.close().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
