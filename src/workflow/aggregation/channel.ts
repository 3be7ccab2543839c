// How a rank reaches its aggregation channel. The shared secret and the channel's endpoint come from the
// instance's environment, set by the engine that started the channel's services; they never travel in
// the state machine's payload (which the platform logs) and are never printed.
import { UsageError } from '../../errors.js';
import type { Channel, ChannelConfig } from '../../fmi/channel.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../fmi/channel.js';
import { channelBackend } from '../../fmi/channels/index.js';
import type { FmiAggregationChannel, RunConfig } from '../contracts.js';

/** Environment of the instances of an FMI run. */
export const FMI_ENV = {
  /** The communicator's shared secret (fresh per run). */
  secret: 'CAI_FMI_SECRET',
  /** Where the ranks reach the channel: its backend's endpoint as JSON (a rendezvous address, a Redis URL, a bucket prefix). */
  endpoint: 'CAI_FMI_ENDPOINT',
} as const;

/** Why a channel cannot serve a run here, for the flags that would make it. */
export const REDIS_NEEDED = '--fmi-channel redis needs a Redis server: give --redis-url redis://host:port or set $CAI_REDIS_URL';
export const BUCKET_NEEDED = '--fmi-channel s3 uses the results bucket: give --out s3://bucket/prefix';

/** The communicator every FMI run's ranks form; runs and attempts are told apart by the run id. */
export const COMMUNICATOR = 'cai-run';

/** The FMI run id of one attempt: frames, keys and objects of another attempt are refused or ignored. */
export function fmiRunId(runId: string, attempt: string): string {
  return `${runId}.${attempt}`;
}

export interface RankChannelArgs {
  kind: FmiAggregationChannel;
  run: RunConfig;
  attempt: string;
  /** This rank's place in the communicator and the communicator's size. */
  index: number;
  size: number;
  env: NodeJS.ProcessEnv;
  /** Absolute deadline for joining the other ranks. */
  deadline: number;
  /** Called once this rank has joined (its presence is recorded), possibly before the others have. */
  onJoined?: () => void;
  /** Give up joining. */
  signal?: AbortSignal;
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
  const text = required(a.env, FMI_ENV.endpoint, `where the ranks reach the ${a.kind} channel`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(`fmi aggregation: $${FMI_ENV.endpoint} is not JSON`);
  }
  const backend = await channelBackend(a.kind);
  const [channel] = await backend.open([config], backend.parseEndpoint(raw, `$${FMI_ENV.endpoint}`), { deadline: a.deadline, onJoined: a.onJoined, signal: a.signal });
  return channel!;
}
