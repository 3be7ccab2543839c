// Opening the endpoints of the ranks one worker hosts, for any bench channel. Ranks of one worker share
// what can be shared without changing the channel's behaviour: the S3 client (an HTTP connection pool),
// and optionally the Redis command connection; each rank keeps its own Redis blocking connection and its
// own TCP listener.
import { Agent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import { UsageError } from '../../errors.js';
import type { Channel, ChannelConfig } from '../channel.js';
import { connectRedis, openRedisChannel } from '../channels/redis/index.js';
import { openS3Channel } from '../channels/s3/index.js';
import { TcpChannel } from '../channels/tcp/channel.js';
import type { BenchJob } from './job.js';

export interface OpenedRanks {
  channels: Channel[];
  close(): Promise<void>;
}

export async function openWorkerChannels(job: BenchJob): Promise<OpenedRanks> {
  const configs: ChannelConfig[] = [];
  for (let rank = job.firstRank; rank < job.endRank; rank++) {
    configs.push({ communicator: job.communicator, runId: job.runId, rank, worldSize: job.worldSize, secret: job.secret, maxFrameBytes: job.maxFrameBytes });
  }
  const c = job.connect;
  const shared: { close(): void }[] = [];
  let channels: Channel[];
  switch (job.channel) {
    case 'tcp': {
      if (!c.rendezvous) throw new UsageError('tcp bench worker: no rendezvous address');
      const deadline = Date.now() + job.timeoutMs;
      channels = await Promise.all(configs.map((cfg) => TcpChannel.connect(cfg, { rendezvous: c.rendezvous!, deadline })));
      break;
    }
    case 'redis': {
      if (!c.redisUrl) throw new UsageError('redis bench worker: no Redis URL');
      let commandConnection: Redis | undefined;
      if (c.redisSharedCommands) {
        commandConnection = await connectRedis({ url: c.redisUrl }, `fmi-bench-${process.pid}`);
        shared.push({ close: () => commandConnection!.disconnect() });
      }
      channels = await Promise.all(configs.map((cfg) => openRedisChannel(cfg, { url: c.redisUrl!, commandConnection })));
      break;
    }
    case 's3': {
      if (!c.s3) throw new UsageError('s3 bench worker: no S3 settings');
      const client = new S3Client({
        region: c.s3.region,
        ...(c.s3.endpoint ? { endpoint: c.s3.endpoint, forcePathStyle: true } : {}),
        ...(c.s3.credentials ? { credentials: c.s3.credentials } : {}),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        // Every rank polls: allow as many sockets as ranks so polls do not queue behind each other.
        requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: Math.max(50, 2 * configs.length) }) },
      });
      shared.push({ close: () => client.destroy() });
      channels = await Promise.all(configs.map((cfg) => openS3Channel(cfg, { client, bucket: c.s3!.bucket, prefix: c.s3!.prefix, pollMaxMs: c.s3!.pollMaxMs })));
      break;
    }
  }
  return {
    channels,
    async close() {
      await Promise.allSettled(channels.map((ch) => ch.close()));
      for (const s of shared) s.close();
    },
  };
}
