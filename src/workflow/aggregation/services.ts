// What the local engine runs for an FMI aggregation, and stops afterwards: a fresh shared secret per run,
// and whatever the channel's backend needs started or checked (tcp: the rendezvous server in this process
// on loopback; redis: a check that the server answers; s3: nothing), then removal of whatever frames an
// interrupted aggregation left. The instances get the secret and the endpoint through their environment only.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../../errors.js';
import { channelBackend } from '../../fmi/channels/index.js';
import { openStorage, S3Storage } from '../../storage/index.js';
import { resultKeys, type FmiAggregationChannel, type RunConfig } from '../contracts.js';
import { BUCKET_NEEDED, COMMUNICATOR, FMI_ENV, REDIS_NEEDED, fmiRunId } from './channel.js';

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

/** The results bucket, where an S3 aggregation puts its frames: under the run's own results. */
function resultsBucket(run: RunConfig): { bucket: string; prefix: string; region: string; endpoint?: string } {
  const storage = openStorage(run.results.uri);
  if (!(storage instanceof S3Storage)) throw new UsageError(BUCKET_NEEDED);
  // The same sources openStorage reads, so the ranks' client reaches the same server as the results.
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return { bucket: storage.bucket, prefix: storage.prefix + resultKeys.dir(run.runId), region, ...(endpoint ? { endpoint } : {}) };
}

/** What this deployment gives each channel's backend to start from. */
const SETTINGS: Record<FmiAggregationChannel, (run: RunConfig, o: ServiceOptions) => object> = {
  tcp: () => ({}),
  redis: (_run, o) => {
    if (!o.redisUrl) throw new UsageError(REDIS_NEEDED);
    return { url: o.redisUrl };
  },
  s3: (run) => resultsBucket(run),
};

export async function startAggregationServices(run: RunConfig, channel: FmiAggregationChannel, o: ServiceOptions = {}): Promise<AggregationServices> {
  const secret = randomBytes(32).toString('hex');
  const settings = SETTINGS[channel](run, o);
  const services = await (await channelBackend(channel)).startServices({ secret, settings });
  return {
    channel,
    env: { [FMI_ENV.secret]: secret, [FMI_ENV.endpoint]: JSON.stringify(services.endpoint) },
    describe: services.describe,
    async stop(attempt) {
      try {
        if (attempt) await services.removeRun(COMMUNICATOR, fmiRunId(run.runId, attempt)).catch(() => undefined);
      } finally {
        await services.stop();
      }
    },
  };
}
