// A Redis rank whose process dies after joining: its presence token stays in the hash (nobody removed
// it), but the server drops its subscription with its connections, so every other rank names it.
import { after, before, test } from 'node:test';
import { startRedis, type RedisFixture } from '../../../support/redis.js';
import { scaled } from '../../../support/time-scale.js';
import { openRedisChannel, type RedisChannel } from '../../../../src/fmi/channels/redis/index.js';
import { killMidAllreduce } from '../fixtures/kill-mid-allreduce.js';
import { spawnRank } from '../fixtures/spawn-rank.js';

const secret = 'redis-faults-secret-0123456789';
let redis: RedisFixture;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

test('a rank process killed mid-allreduce: every other rank names it as gone, and only it', async () => {
  const worldSize = 4;
  const victimRank = 2;
  const child = spawnRank({
    FMI_CHANNEL: 'redis',
    FMI_ENDPOINT: JSON.stringify({ url: redis.url }),
    FMI_RANK: String(victimRank),
    FMI_WORLD_SIZE: String(worldSize),
    FMI_COMMUNICATOR: 'kill',
    FMI_RUN_ID: 'r1',
    FMI_SECRET: secret,
    FMI_SETUP_MS: String(scaled(20_000)),
    FMI_TIMEOUT_MS: String(scaled(2000)),
  });
  let channels: RedisChannel[] = [];
  try {
    channels = await Promise.all([0, 1, 3].map((rank) => openRedisChannel({ communicator: 'kill', runId: 'r1', rank, worldSize, secret, maxFrameBytes: 1 << 20 }, { url: redis.url })));
    // Nothing on Redis waits for the world to form: start once the victim has joined.
    await child.waitFor((e) => e.event === 'registered', scaled(20_000));
    await killMidAllreduce(child, channels, { worldSize, victimRank, after: 10, timeoutMs: 1500, message: /^fmi allreduce #\d+ on rank \d\/4 of "kill": deadline passed while waiting for rank 2 \(left\)$/ });
  } finally {
    child.child.kill('SIGKILL');
    await Promise.all(channels.map((c) => c.close()));
  }
});
