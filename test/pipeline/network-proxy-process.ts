// A network proxy as its own process, with the device pipeline's workers inside it (the default
// deployment), over SIMULATED devices shared through Redis — for the kill -9 test.
//   network-proxy-process.ts PREFIX PORT COMMIT_MS
import { pino } from 'pino';
import { DriverRegistry } from '../../src/pipeline/driver-registry.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { SimulatedDevices, simulatedDevice } from '../../src/pipeline/simulated-device.ts';
import { NetworkProxy } from '../../src/proxy/network/network-proxy.ts';
import { InventoryStore } from '../../src/store/inventory-store.ts';
import { keys } from '../../src/store/keys.ts';
import { connectRedis } from '../../src/store/redis.ts';

const [prefix, port, commitMs] = process.argv.slice(2);
if (!prefix || !port) throw new Error('usage: network-proxy-process.ts PREFIX PORT COMMIT_MS');
const redis = connectRedis(undefined, { name: 'nvo-test-np' });
const k = keys(prefix);
const sim = new SimulatedDevices(redis, prefix, { commitMs: Number(commitMs ?? 0) });
const pipeline = new Pipeline({
  redis,
  k,
  drivers: new DriverRegistry().register('netconf', sim).register('xmpp', sim),
  lookup: async (id) => simulatedDevice(id),
  log: pino({ level: process.env.NVO_TEST_LOG ?? 'silent' }),
  timing: { lockDurationMs: 3000, stalledIntervalMs: 1500, busyDelayMs: 100 },
  sweepIntervalMs: 1000,
}).start();
const np = new NetworkProxy({ id: 'np1', secret: 'np1-shared-secret', redis, k, inventory: new InventoryStore(redis, prefix), sync: pipeline.port, port: Number(port), host: '127.0.0.1', syncDeadlineMs: 30_000 });
await np.listening();
await pipeline.workers[0]!.waitUntilReady();
process.stdout.write('ready\n');
