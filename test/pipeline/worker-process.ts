// A separate sync-worker process for the multi-process tests, with the SIMULATED device (shared
// through Redis). Usage: worker-process.ts PREFIX COMMIT_MS CONCURRENCY. Prints "ready" once its
// worker listens; SIGTERM closes it cleanly (the tests also kill -9 it).
import { pino } from 'pino';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { SimulatedDevices, simulatedDevice } from '../../src/pipeline/simulated-device.ts';
import { keys } from '../../src/store/keys.ts';
import { connectRedis } from '../../src/store/redis.ts';

const [prefix, commitMs, concurrency] = process.argv.slice(2);
if (!prefix) throw new Error('usage: worker-process.ts PREFIX COMMIT_MS CONCURRENCY');
const redis = connectRedis(undefined, { name: 'nvo-test-worker' });
const sim = new SimulatedDevices(redis, prefix, { commitMs: Number(commitMs ?? 0) });
const pipeline = new Pipeline({
  redis,
  k: keys(prefix),
  drivers: new DriverRegistry().register('netconf', sim),
  lookup: async (id) => simulatedDevice(id),
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
