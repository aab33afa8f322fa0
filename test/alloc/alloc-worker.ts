// Child process for the cross-process allocator test: N concurrent requests, results as JSON on stdout.
import { connectRedis } from '../../src/store/redis.ts';
import { keys } from '../../src/store/keys.ts';
import { Allocator } from '../../src/alloc/allocator.ts';

const [prefix, tag, countText] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const redis = connectRedis();
const alloc = new Allocator(redis, keys(prefix));
const pools = [
  { name: 'pod:p1', label: 'pod p1', ranges: ['1-4000'] },
  { name: 'dev:wan1', label: 'wan-gw wan1', ranges: ['100-2999'] },
  { name: 'dev:tgw1', label: 'tor-gw tgw1', ranges: ['50-2500'] },
];
const gwPool = ['239.1.0.0/22'];

// Half the CIDs are this process's own, half are shared with the other process (idempotency across processes).
const jobs = Array.from({ length: count }, async (_, i) => {
  const cid = i % 2 === 0 ? `own-${tag}-${i}` : `shared-${i}`;
  const [v, vni, g] = await Promise.all([
    alloc.acquireVlan({ cid, pod: 'p1', user: `${tag}-${i}`, pools }),
    alloc.acquireVni(cid, ['5000-9999']),
    alloc.acquireGroup({ cid, device: 'wan1', user: `${tag}-${i}`, pool: gwPool }),
  ]);
  return { cid, vlan: v.vlan, vni, group: g.group };
});
const results = await Promise.all(jobs);
process.stdout.write(JSON.stringify(results));
redis.disconnect();
