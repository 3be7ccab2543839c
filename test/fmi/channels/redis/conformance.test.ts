import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisFixture } from '../../../support/redis.js';
import { openRedisChannel, redisRunPrefix } from '../../../../src/fmi/channels/redis/index.js';
import { DEFAULT_MAX_FRAME_BYTES, type Channel } from '../../../../src/fmi/channel.js';
import { runChannelConformance } from '../conformance.js';

let redis: RedisFixture;
let admin: Redis;
let worlds = 0;
const runOf = new WeakMap<Channel, string>();
before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
after(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Ranks `ranks` of a fresh run of a world of `n`: the others never join. */
async function openRanks(n: number, ranks: readonly number[]): Promise<Channel[]> {
  const runId = `conf${++worlds}`;
  const channels = await Promise.all(
    ranks.map((rank) => openRedisChannel({ communicator: 'conformance', runId, rank, worldSize: n, secret: 'conformance-secret-0123456789', maxFrameBytes: DEFAULT_MAX_FRAME_BYTES }, { url: redis.url })),
  );
  for (const c of channels) runOf.set(c, runId);
  return channels;
}

const everyRank = (n: number) => Array.from({ length: n }, (_, r) => r);

runChannelConformance(
  'redis',
  (n) => openRanks(n, everyRank(n)),
  {
    makeWorldWithout: (n, absent) => openRanks(n, everyRank(n).filter((r) => !absent.includes(r))),
    maxWorldSize: 65,
    numRuns: 10,
    // Closing every endpoint must leave nothing of the run behind, whatever the program did.
    teardown: async (channels, absent) => {
      await Promise.all(channels.map((c) => c.close()));
      const prefix = redisRunPrefix('conformance', runOf.get(channels[0]!)!);
      const left = await admin.keys(`${prefix}*`);
      // Only lists addressed to a rank that never joined outlive the endpoints (the run's removal takes them).
      const toAbsent = left.filter((k) => absent.some((r) => k.startsWith(prefix) && k.slice(prefix.length).split(':')[0]!.endsWith(`>${r}`)));
      assert.deepEqual(left.filter((k) => !toAbsent.includes(k)), [], 'keys left after close');
      if (toAbsent.length) await admin.unlink(...toAbsent);
    },
  },
);
