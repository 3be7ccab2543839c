// What the local engine runs for an FMI aggregation, and stops afterwards: a fresh shared secret per run,
// the rendezvous server in this process on loopback (tcp), a check that the Redis server answers (redis),
// and removal of whatever frames an interrupted aggregation left in Redis or the results bucket.
// The instances get the secret and the addresses through their environment only.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../../errors.js';
import { openStorage, S3Storage } from '../../storage/index.js';
import type { FmiAggregationChannel, RunConfig } from '../contracts.js';
import { COMMUNICATOR, FMI_ENV, fmiRunId, s3ChannelPrefix } from './channel.js';

export interface AggregationServices {
  channel: FmiAggregationChannel;
  /** Variables for the instances' environment (the secret among them: never print this). */
  env: Record<string, string>;
  /** What was started, for people (no secrets). */
  describe: string;
  /** Remove frames an attempt left behind (none after a clean aggregation), then stop what was started. */
  stop(attempt?: string): Promise<void>;
}

export interface ServiceOptions {
  /** Redis for the redis channel. */
  redisUrl?: string;
}

export async function startAggregationServices(run: RunConfig, channel: FmiAggregationChannel, o: ServiceOptions = {}): Promise<AggregationServices> {
  const secret = randomBytes(32).toString('hex');
  const env: Record<string, string> = { [FMI_ENV.secret]: secret };
  switch (channel) {
    case 'tcp': {
      const { RendezvousServer } = await import('../../fmi/rendezvous/server.js');
      const server = await RendezvousServer.start({ secret, host: '127.0.0.1', port: 0 });
      const { host, port } = server.address;
      env[FMI_ENV.rendezvous] = `${host}:${port}`;
      return { channel, env, describe: `rendezvous server on ${host}:${port}`, stop: () => server.close() };
    }
    case 'redis': {
      if (!o.redisUrl) throw new UsageError('--fmi-channel redis needs a Redis server: give --redis-url redis://host:port or set $CAI_REDIS_URL');
      const url = o.redisUrl;
      const { connectRedis, deleteRedisRun, describeRedisUrl } = await import('../../fmi/channels/redis/index.js');
      // Fail now, naming host and port, rather than in every rank later.
      (await connectRedis({ url }, 'cai-run-check')).disconnect();
      env[FMI_ENV.redisUrl] = url;
      return {
        channel,
        env,
        describe: describeRedisUrl(url),
        async stop(attempt) {
          if (!attempt) return;
          const conn = await connectRedis({ url }, 'cai-run-cleanup').catch(() => undefined);
          if (!conn) return;
          try {
            await deleteRedisRun(conn, COMMUNICATOR, fmiRunId(run.runId, attempt));
          } catch {
            // Keys expire on their own.
          } finally {
            conn.disconnect();
          }
        },
      };
    }
    case 's3': {
      const storage = openStorage(run.results.uri);
      if (!(storage instanceof S3Storage)) throw new UsageError('--fmi-channel s3 uses the results bucket: give --out s3://bucket/prefix');
      const { deleteS3Run } = await import('../../fmi/channels/s3/index.js');
      return {
        channel,
        env,
        describe: `frames under ${storage.location}/${s3ChannelPrefix(storage, run.runId).slice(storage.prefix.length)}fmi/`,
        async stop(attempt) {
          if (!attempt) return;
          await deleteS3Run(await storage.client(), storage.bucket, COMMUNICATOR, fmiRunId(run.runId, attempt), s3ChannelPrefix(storage, run.runId)).catch(() => 0);
        },
      };
    }
  }
}
