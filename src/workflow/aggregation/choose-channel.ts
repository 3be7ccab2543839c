// Which FMI channel an aggregation runs over. The question put to the channel policy is the one the run
// asks: a gather to one rank of what every rank sends (its result object and predictions) at this world
// size, under the run's hint. Channels this machine cannot offer (Redis without a URL, S3 without results
// in a bucket) are disabled in the policy, so `auto` never picks them and an explicit request is refused.
import { availableParallelism } from 'node:os';
import { UsageError } from '../../errors.js';
// The policy's own modules, not its index: that one also loads every channel's client library.
import { defaultPolicyConfig, type PolicyConfig } from '../../fmi/policy/config.js';
import { ChannelPolicy, summarize, type Explanation, type Hint } from '../../fmi/policy/policy.js';
import type { FmiAggregationChannel } from '../contracts.js';
import { BUCKET_NEEDED, REDIS_NEEDED } from './channel.js';
import { payloadBytes } from './rank-payload.js';

/** A result object is about 2.5 KB plus some 250 bytes per partition (paths, ids, timings). */
const RESULT_JSON_BASE_BYTES = 2500;
const RESULT_JSON_PER_PARTITION_BYTES = 250;

export interface ChannelQuestion {
  requested: FmiAggregationChannel | 'auto';
  hint: Hint;
  worldSize: number;
  /** The data set's samples and partitions, for the bytes each rank sends. */
  samples: number;
  partitions: number;
  labelled: boolean;
  /** What this deployment can reach. TCP is always possible between local instances. */
  available: { redis: boolean; s3: boolean };
  /** Ranks sharing a core (local instances on a small machine); default: ranks over this machine's cores. */
  ranksPerCore?: number;
  /** A channel configuration to start from (its model figures); default: the built-in one. */
  config?: PolicyConfig;
}

export interface ChannelChoice {
  channel: FmiAggregationChannel;
  gatherBytesPerRank: number;
  /** One line for the summary: the question, the figures and why. */
  reason: string;
  explanation: Explanation;
}

/** Bytes one rank sends in the gather, estimated from its share of the data set. */
export function gatherBytesPerRank(samples: number, partitions: number, worldSize: number, labelled: boolean): number {
  const perRank = Math.ceil(samples / worldSize);
  const json = RESULT_JSON_BASE_BYTES + RESULT_JSON_PER_PARTITION_BYTES * Math.ceil(partitions / worldSize);
  return payloadBytes(perRank, json, labelled);
}

export function chooseAggregationChannel(q: ChannelQuestion): ChannelChoice {
  if (q.requested === 'redis' && !q.available.redis) throw new UsageError(REDIS_NEEDED);
  if (q.requested === 's3' && !q.available.s3) throw new UsageError(BUCKET_NEEDED);
  const base = q.config ?? defaultPolicyConfig();
  const config: PolicyConfig = {
    ...base,
    channels: {
      tcp: { ...base.channels.tcp, enabled: true },
      redis: { ...base.channels.redis, enabled: q.available.redis },
      s3: { ...base.channels.s3, enabled: q.available.s3 },
    },
  };
  const bytes = gatherBytesPerRank(q.samples, q.partitions, q.worldSize, q.labelled);
  const ranksPerCore = q.ranksPerCore ?? Math.max(1, q.worldSize / availableParallelism());
  // explain() also prints its one-line summary when CAI_DEBUG includes fmi.
  const explanation = new ChannelPolicy(config).explain('gather', bytes, q.worldSize, q.hint, { ranksPerCore });
  const channel = q.requested === 'auto' ? explanation.choice : q.requested;
  const reason =
    q.requested === 'auto'
      ? `auto: ${summarize(explanation)}`
      : `requested ${channel}; the policy's answer for the same question: ${summarize(explanation)}`;
  return { channel, gatherBytesPerRank: bytes, reason, explanation };
}
