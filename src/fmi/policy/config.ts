// The FMI channel configuration: which channels a deployment may use and how to reach them, plus the
// performance/cost model the channel policy uses to choose among them. In the spirit of FMI's JSON config
// (per channel: enabled, endpoints, timeouts; model: bandwidth, per-message overhead, prices, function
// GiB-second price), with explicit units in every field name.
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { DataError } from '../../errors.js';

export const POLICY_CHANNELS = ['tcp', 'redis', 's3'] as const;
export type PolicyChannel = (typeof POLICY_CHANNELS)[number];

const usd = z.number().nonnegative().finite();
const ms = z.number().nonnegative().finite();
const positive = z.number().positive().finite();

const timeouts = z
  .object({
    connect_ms: positive.default(5000),
    operation_ms: positive.default(60_000),
  })
  .strict();

const channelBase = {
  enabled: z.boolean(),
  endpoints: z.array(z.string().min(1).max(2048)).max(64).default([]),
  timeouts: timeouts.default({}),
};

export const channelsSchema = z
  .object({
    tcp: z.object({ ...channelBase }).strict(),
    redis: z
      .object({
        ...channelBase,
        /** Name of an environment variable holding the AUTH password (the password itself never goes in the file). */
        password_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
        key_ttl_ms: positive.default(600_000),
      })
      .strict(),
    s3: z
      .object({
        ...channelBase,
        bucket: z.string().min(3).max(63).optional(),
        prefix: z.string().max(512).default(''),
        region: z.string().max(64).default('us-east-1'),
        poll_initial_ms: positive.default(2),
        poll_max_ms: positive.default(100),
      })
      .strict(),
  })
  .strict();

/** Performance and price of one channel. */
export const channelModelSchema = z
  .object({
    /** Time from a send to the matching receive for a small message, one hop. */
    latency_ms: ms,
    /** One stream's bandwidth, MB/s (1 MB = 10^6 bytes). */
    bandwidth_mb_s: positive,
    /** All streams through the service together (a Redis node's NIC, say); omitted = no shared limit. */
    aggregate_bandwidth_mb_s: positive.optional(),
    /** Service time of one message at a single-threaded server (a push plus a pop); 0 = no shared server. */
    server_message_us: ms.default(0),
    /** CPU time on the ranks per message (client library, framing, HMAC). */
    cpu_message_us: ms.default(15),
    /** Price of writing one message (S3 PUT). */
    put_price_usd: usd.default(0),
    /** Price of one read attempt (S3 GET; receivers poll, so a message costs one or more). */
    get_price_usd: usd.default(0),
    /** Data transfer price per GB (10^9 bytes) moved through the channel. */
    gb_price_usd: usd.default(0),
    /** Price per hour of infrastructure the channel needs (a Redis node, a rendezvous host). */
    hour_price_usd: usd.default(0),
    /** Collective operations per hour sharing that infrastructure; each pays hour_price / ops_per_hour. */
    ops_per_hour: positive.default(1000),
  })
  .strict();
export type ChannelModel = z.infer<typeof channelModelSchema>;

export const modelSchema = z
  .object({
    function: z
      .object({
        /** Price per GiB-second of a function instance, which waits (and pays) while messages travel. */
        gib_second_price_usd: usd,
        memory_gib: positive,
      })
      .strict(),
    tcp: channelModelSchema,
    redis: channelModelSchema,
    s3: channelModelSchema,
  })
  .strict();
export type PolicyModel = z.infer<typeof modelSchema>;

export const policyConfigSchema = z
  .object({
    format: z.literal('cai-fmi-channels').default('cai-fmi-channels'),
    version: z.literal(1).default(1),
    channels: channelsSchema,
    model: modelSchema,
  })
  .strict();
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
export type PolicyConfigInput = z.input<typeof policyConfigSchema>;

/**
 * Defaults. Prices: AWS public on-demand prices, us-east-1 (the same figures as catalog/aws-prices.json):
 * S3 Standard PUT 0.005 USD/1000 requests and GET 0.0004 USD/1000 (aws.amazon.com/s3/pricing), Lambda
 * x86_64 0.0000166667 USD/GB-s (aws.amazon.com/lambda/pricing), ElastiCache cache.t4g.micro 0.016 USD/h
 * (aws.amazon.com/elasticache/pricing); in-region transfer between Lambda, S3 and ElastiCache is free, and
 * so is direct TCP between function instances. Performance: the per-message overheads and bandwidths of
 * FMI's published model for AWS Lambda (spcl/fmi config/fmi.json: direct 0.34 ms and 400 MB/s, Redis
 * 5.2 ms and 100 MB/s per stream with 400 MB/s aggregate, S3 40.4 ms and 50 MB/s) and FMI's amortization of
 * always-on infrastructure over 1000 operations per hour.
 */
export const DEFAULT_POLICY_CONFIG: PolicyConfigInput = {
  format: 'cai-fmi-channels',
  version: 1,
  channels: {
    tcp: { enabled: true, endpoints: [] },
    redis: { enabled: true, endpoints: ['redis://127.0.0.1:6379'] },
    s3: { enabled: true, endpoints: [], bucket: 'cai-fmi', prefix: '' },
  },
  model: {
    function: { gib_second_price_usd: 0.0000166667, memory_gib: 2 },
    tcp: { latency_ms: 0.34, bandwidth_mb_s: 400, cpu_message_us: 15 },
    redis: { latency_ms: 5.2, bandwidth_mb_s: 100, aggregate_bandwidth_mb_s: 400, server_message_us: 10, cpu_message_us: 30, hour_price_usd: 0.016 },
    s3: { latency_ms: 40.4, bandwidth_mb_s: 50, cpu_message_us: 300, put_price_usd: 0.005 / 1000, get_price_usd: 0.0004 / 1000 },
  },
};

/** The defaults, validated (fills every default field). */
export function defaultPolicyConfig(): PolicyConfig {
  return policyConfigSchema.parse(DEFAULT_POLICY_CONFIG);
}

/** Validate a parsed JSON value; `file` names the source in the one-line error. */
export function parsePolicyConfig(value: unknown, file: string): PolicyConfig {
  const r = policyConfigSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new DataError(file, `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return r.data;
}

export const MAX_POLICY_FILE_BYTES = 1 << 20;

/** Read and validate a channel configuration file. */
export async function loadPolicyConfig(file: string): Promise<PolicyConfig> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (size > MAX_POLICY_FILE_BYTES) throw new DataError(file, `file of ${size} bytes is larger than the ${MAX_POLICY_FILE_BYTES}-byte limit for a channel configuration`);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DataError(file, `not valid JSON: ${(err as Error).message}`);
  }
  return parsePolicyConfig(value, file);
}
