// How a rank reaches its aggregation channel. The shared secret and the service addresses come from the
// instance's environment, set by the engine that started the services; they never travel in the state
// machine's payload (which the platform logs) and are never printed.
import { UsageError } from '../../errors.js';
import type { Channel, ChannelConfig } from '../../fmi/channel.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../fmi/channel.js';
import { openStorage, S3Storage } from '../../storage/index.js';
import { resultKeys, type FmiAggregationChannel, type RunConfig } from '../contracts.js';

/** Environment of the instances of an FMI run. */
export const FMI_ENV = {
  /** The communicator's shared secret (fresh per run). */
  secret: 'CAI_FMI_SECRET',
  /** host:port of the rendezvous server (tcp). */
  rendezvous: 'CAI_FMI_RENDEZVOUS',
  /** redis://host:port (redis). */
  redisUrl: 'CAI_FMI_REDIS_URL',
} as const;

/** The communicator every FMI run's ranks form; runs and attempts are told apart by the run id. */
export const COMMUNICATOR = 'cai-run';

/** The FMI run id of one attempt: frames, keys and objects of another attempt are refused or ignored. */
export function fmiRunId(runId: string, attempt: string): string {
  return `${runId}.${attempt}`;
}

/** Where in the results bucket an S3 aggregation puts its frames: under the run's own results. */
export function s3ChannelPrefix(storage: S3Storage, runId: string): string {
  return storage.prefix + resultKeys.dir(runId);
}

/** Redis lists outlive a crashed run by at most this long. */
const REDIS_KEY_TTL_MS = 10 * 60 * 1000;

export interface RankChannelArgs {
  kind: FmiAggregationChannel;
  run: RunConfig;
  attempt: string;
  /** This rank's place in the communicator and the communicator's size. */
  index: number;
  size: number;
  env: NodeJS.ProcessEnv;
  /** Absolute deadline for meeting the other ranks (tcp's rendezvous). */
  deadline: number;
}

/** "host:port" (IPv6 in brackets). */
export function parseRendezvous(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`$${FMI_ENV.rendezvous}: "${text}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new UsageError(`fmi aggregation: $${name} (${what}) is not set in this instance's environment; the engine that starts the run sets it`);
  return v;
}

export async function openRankChannel(a: RankChannelArgs): Promise<Channel> {
  const config: ChannelConfig = {
    communicator: COMMUNICATOR,
    runId: fmiRunId(a.run.runId, a.attempt),
    rank: a.index,
    worldSize: a.size,
    secret: required(a.env, FMI_ENV.secret, 'the shared secret'),
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  };
  switch (a.kind) {
    case 'tcp': {
      const { TcpChannel } = await import('../../fmi/channels/tcp/channel.js');
      const rendezvous = parseRendezvous(required(a.env, FMI_ENV.rendezvous, 'the rendezvous server'));
      return TcpChannel.connect(config, { rendezvous, deadline: a.deadline });
    }
    case 'redis': {
      const { openRedisChannel } = await import('../../fmi/channels/redis/index.js');
      return openRedisChannel(config, { url: required(a.env, FMI_ENV.redisUrl, 'the Redis URL'), keyTtlMs: REDIS_KEY_TTL_MS });
    }
    case 's3': {
      const storage = openStorage(a.run.results.uri);
      if (!(storage instanceof S3Storage)) throw new UsageError(`fmi aggregation over s3 needs the results in a bucket, not ${a.run.results.uri}`);
      const { openS3Channel } = await import('../../fmi/channels/s3/index.js');
      return openS3Channel(config, { client: await storage.client(), bucket: storage.bucket, prefix: s3ChannelPrefix(storage, a.run.runId) });
    }
  }
}
