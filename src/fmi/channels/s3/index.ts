// The S3 channel as a backend: frames are objects under a prefix of a bucket the run is given (or, for
// benchmarks, a loopback S3-API server). Ranks of one process share one client (one connection pool).
// Credentials come from the AWS SDK's usual sources unless the endpoint carries them.
import { Agent } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { ChannelConfig } from '../../channel.js';
import type { PolicyConfig } from '../../policy/config.js';
import { UsageError } from '../../../errors.js';
import { keepAllOrNone, parseEndpointWith, sharedRelease, type ChannelBackend, type OpenOptions, type RunServices, type ServiceRequest } from '../backend.js';
import { deleteS3Run, openS3Channel, type S3Channel } from './channel.js';
import { startS3Server } from './local-server.js';

export { openS3Channel, S3Channel, deleteS3Prefix, deleteS3Run, s3MessageKey, s3PresenceKey, s3PresencePrefix, s3RunPrefix, S3_POLL_DEFAULTS } from './channel.js';
export type { S3ChannelOptions } from './channel.js';
export { startS3Server } from './local-server.js';
export type { LocalS3 } from './local-server.js';

export interface S3Endpoint {
  bucket: string;
  /** Key prefix inside the bucket, e.g. "scratch/". */
  prefix?: string;
  region?: string;
  /** An S3-compatible server instead of AWS (path-style addressing). */
  endpoint?: string;
  /** Static credentials (a loopback server's fixed pair); otherwise the SDK's sources. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** A client made by a caller in this process, used as it is and never destroyed here; never serialized. */
  client?: S3Client;
}

const wire = {
  bucket: z.string().min(3).max(63),
  prefix: z.string().max(1024).optional(),
  region: z.string().min(1).max(64).optional(),
  endpoint: z.string().url().max(2048).optional(),
  credentials: z.object({ accessKeyId: z.string().min(1).max(256), secretAccessKey: z.string().min(1).max(1024) }).strict().optional(),
  pollInitialMs: z.number().positive().optional(),
  pollMaxMs: z.number().positive().optional(),
};
const endpointSchema = z.object({ ...wire, client: z.instanceof(S3Client).optional() }).strict();
const settingsSchema = z.object(wire).strict().partial();

/** A client for `e` with as many sockets as ranks poll at once, so polls do not queue behind each other. */
function makeClient(e: S3Endpoint, ranks: number): S3Client {
  return new S3Client({
    region: e.region ?? 'us-east-1',
    ...(e.endpoint ? { endpoint: e.endpoint, forcePathStyle: true } : {}),
    ...(e.credentials ? { credentials: e.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: Math.max(50, 2 * ranks) }) },
  });
}

export const backend: ChannelBackend<S3Endpoint> = {
  kind: 's3',

  parseEndpoint(value: unknown, where: string): S3Endpoint {
    return parseEndpointWith(endpointSchema, value, where);
  },

  configuredEndpoint(policy: PolicyConfig): S3Endpoint {
    const s = policy.channels.s3;
    if (!s.bucket) throw new UsageError('channel configuration: channels.s3.bucket is required');
    const endpoint = s.endpoints[0];
    return { bucket: s.bucket, prefix: s.prefix, region: s.region, pollInitialMs: s.poll_initial_ms, pollMaxMs: s.poll_max_ms, ...(endpoint ? { endpoint } : {}) };
  },

  async open(configs: readonly ChannelConfig[], e: S3Endpoint, options: OpenOptions): Promise<S3Channel[]> {
    const client = e.client ?? makeClient(e, configs.length);
    const releases = e.client ? [] : sharedRelease(configs.length, () => client.destroy());
    const settled = await Promise.allSettled(
      configs.map((config, i) =>
        openS3Channel(config, { client, bucket: e.bucket, prefix: e.prefix, pollInitialMs: e.pollInitialMs, pollMaxMs: e.pollMaxMs, joinDeadline: options.deadline, releaseClient: releases[i] }).then((ch) => {
          options.onJoined?.(config.rank);
          return ch;
        }),
      ),
    );
    settled.forEach((s, i) => s.status === 'rejected' && releases[i]?.());
    return keepAllOrNone(settled, options.signal);
  },

  async startServices(request: ServiceRequest): Promise<RunServices<S3Endpoint>> {
    const given = parseEndpointWith(settingsSchema, request.settings ?? {}, 's3 channel settings');
    let server: Awaited<ReturnType<typeof startS3Server>> | undefined;
    if (!given.bucket) {
      if (given.endpoint) throw new UsageError('s3 channel settings: an endpoint needs a bucket');
      if (!request.local) throw new UsageError('the s3 channel needs a bucket, and none was given');
      server = await startS3Server();
    }
    const endpoint: S3Endpoint = server ? { ...given, bucket: server.bucket, endpoint: server.endpoint, credentials: server.credentials } : { ...given, bucket: given.bucket! };
    const where = `s3://${endpoint.bucket}/${endpoint.prefix ?? ''}`;
    return {
      endpoint,
      describe: server?.describe ?? `objects under ${where}fmi/`,
      async removeRun(communicator, runId) {
        const client = makeClient(endpoint, 1);
        try {
          await deleteS3Run(client, endpoint.bucket, communicator, runId, endpoint.prefix ?? '');
        } catch {
          // Unreachable store: a bucket lifecycle rule on the prefix removes what is left.
        } finally {
          client.destroy();
        }
      },
      stop: async () => server?.stop(),
    };
  },
};
