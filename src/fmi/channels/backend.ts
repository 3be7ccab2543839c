// What every channel kind provides, so that callers (the channel configuration, the workflow's FMI
// aggregation, the benchmark) never switch on the kind: each channels/<kind>/index.ts exports one
// ChannelBackend, and channels/index.ts maps a kind to it. An endpoint says where a run's ranks reach the
// channel (a rendezvous server, a Redis URL, a bucket prefix); it is plain JSON so it can travel to the
// ranks through their environment or an IPC pipe, and it never holds the run's shared secret.
import type { z } from 'zod';
import { UsageError } from '../../errors.js';
import type { Channel, ChannelConfig } from '../channel.js';
import type { PolicyConfig } from '../policy/config.js';

export interface OpenOptions {
  /** Absolute deadline (Date.now() ms) for joining: rendezvous, connections, the presence record. */
  deadline: number;
  /**
   * Called for each rank once its presence is recorded (tcp: the rendezvous server admitted it; redis,
   * s3: its presence record is written), which may come well before open resolves (tcp waits for every rank).
   */
  onJoined?: (rank: number) => void;
  /** Give up joining: open rejects (what did open is closed), and ranks already in learn these left. */
  signal?: AbortSignal;
}

export interface ServiceRequest {
  /** The run's shared secret (a rendezvous server admits only ranks that prove it). Never printed. */
  secret: string;
  /**
   * Settings the caller has for this channel, checked by the backend: the server to use (a Redis URL, a
   * bucket) and how to use it. Without a server the backend starts one if it can and `local` allows it.
   */
  settings?: unknown;
  /** Start a private server on loopback when the settings name none (benchmarks, tests). */
  local?: boolean;
}

/** What a run's ranks need, started or checked; `endpoint` is what they are given. */
export interface RunServices<E = unknown> {
  endpoint: E;
  /** For people: what serves the run, where (no secret). */
  describe: string;
  /** Remove what a run of `communicator` left behind (frames, keys, presence records); best effort. */
  removeRun(communicator: string, runId: string): Promise<void>;
  /** Stop what was started for the run (nothing when the server was given). */
  stop(): Promise<void>;
}

export interface ChannelBackend<E = unknown> {
  /** The kind this backend is registered under. */
  readonly kind: string;
  /** Check an endpoint that arrived from outside (environment, IPC); `where` names its source in errors. */
  parseEndpoint(value: unknown, where: string): E;
  /** The endpoint this channel's section of a channel configuration describes; secrets it names are read from `env`. */
  configuredEndpoint(policy: PolicyConfig, env: NodeJS.ProcessEnv): E;
  /**
   * One endpoint per config, in order: the ranks one process hosts. Ranks share what the channel allows
   * without changing its behaviour (an S3 client, optionally a Redis command connection); each channel's
   * close() releases its share, the last one the shared parts.
   */
  open(configs: readonly ChannelConfig[], endpoint: E, options: OpenOptions): Promise<Channel[]>;
  /** Start (or check) what the ranks of one run need, e.g. a rendezvous server, and say how to reach it. */
  startServices(request: ServiceRequest): Promise<RunServices<E>>;
}

/** `value` checked against an endpoint or settings schema; a mismatch is one usage error naming `where`. */
export function parseEndpointWith<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new UsageError(`${where}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
}

/**
 * A release for each of `holders` endpoints sharing one resource; `release` runs once, when the last of
 * them has let go. Each holder's release is idempotent.
 */
export function sharedRelease(holders: number, release: () => void): (() => void)[] {
  let left = holders;
  return Array.from({ length: holders }, () => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--left === 0) release();
    };
  });
}

/**
 * All the opened channels, or the first failure after closing the ones that did open; an open given up
 * through `signal` counts as failed.
 */
export async function keepAllOrNone<T extends { close(): Promise<void> }>(settled: PromiseSettledResult<T>[], signal?: AbortSignal): Promise<T[]> {
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected') ?? (signal?.aborted ? { status: 'rejected' as const, reason: new UsageError('joining was given up') } : undefined);
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.close().catch(() => undefined) : undefined)));
  throw failed.reason;
}
