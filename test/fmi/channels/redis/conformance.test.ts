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

runChannelConformance(
  'redis',
  async (n) => {
    const runId = `conf${++worlds}`;
    const channels = await Promise.all(
      Array.from({ length: n }, (_, rank) =>
        openRedisChannel({ communicator: 'conformance', runId, rank, worldSize: n, secret: 'conformance-secret-0123456789', maxFrameBytes: DEFAULT_MAX_FRAME_BYTES }, { url: redis.url }),
      ),
    );
    for (const c of channels) runOf.set(c, runId);
    return channels;
  },
  {
    maxWorldSize: 65,
    numRuns: 10,
    // Closing every endpoint must leave nothing of the run behind, whatever the program did.
    teardown: async (channels) => {
      await Promise.all(channels.map((c) => c.close()));
      const left = await admin.keys(`${redisRunPrefix('conformance', runOf.get(channels[0]!)!)}*`);
      assert.deepEqual(left, [], 'keys left after close');
    },
  },
);
