// What the coordinator hands each worker process, what the worker answers, and the program every rank
// runs. Kept free of process plumbing so the rank program can run in-process too.
import { performance } from 'node:perf_hooks';
import { UsageError } from '../../errors.js';
import type { Communicator } from '../../fmi/communicator.js';
import type { FmiValue } from '../../fmi/codec.js';
import { NETWORK_CHANNEL_KINDS, type ChannelKind } from '../../fmi/channels/index.js';

/** Channels whose ranks can live in separate worker processes. */
export const BENCH_CHANNELS = NETWORK_CHANNEL_KINDS;
export type BenchChannel = ChannelKind;

export const BENCH_OPS = ['barrier', 'allreduce', 'bcast', 'gather', 'reduce', 'allgather', 'scatter', 'scan'] as const;
export type BenchOp = (typeof BENCH_OPS)[number];

export interface BenchStep {
  op: BenchOp;
  /** Bytes each rank contributes (0 for barrier). */
  bytes: number;
}

export interface BenchJob {
  channel: BenchChannel;
  communicator: string;
  runId: string;
  secret: string;
  worldSize: number;
  /** Ranks this worker hosts: first (inclusive) to end (exclusive). */
  firstRank: number;
  endRank: number;
  plan: BenchStep[];
  runs: number;
  warmup: number;
  timeoutMs: number;
  /** Ranks per CPU core on this machine, so the communicator picks algorithms for shared cores. */
  ranksPerCore: number;
  maxFrameBytes: number;
  /** Where the ranks reach the channel, as its backend's services gave it. Travels only over the IPC pipe, never in argv. */
  endpoint: unknown;
}

export type ToWorker = { type: 'job'; job: BenchJob } | { type: 'go' } | { type: 'close' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; ranks: { rank: number; durations: number[][] }[] }
  | { type: 'error'; message: string; exitCode: number };

/** A value of `bytes` bytes for the operation (Float64 sums where the size allows, bytes otherwise). */
export function payloadFor(op: BenchOp, bytes: number, rank: number): FmiValue {
  if (op === 'barrier') return 0;
  if (bytes % 8 === 0) return new Float64Array(bytes / 8).fill(rank + 1);
  return new Uint8Array(bytes).fill((rank + 1) & 0xff);
}

const REDUCTION = (value: FmiValue) => (value instanceof Float64Array ? ('sum' as const) : ('max' as const));

/** Run one operation once on one rank. */
export async function runOp(comm: Communicator, op: BenchOp, value: FmiValue, timeoutMs: number): Promise<void> {
  const o = { timeoutMs };
  switch (op) {
    case 'barrier':
      return comm.barrier(o);
    case 'allreduce':
      await comm.allreduce(value, REDUCTION(value), o);
      return;
    case 'reduce':
      await comm.reduce(value, REDUCTION(value), 0, o);
      return;
    case 'scan':
      await comm.scan(value, REDUCTION(value), o);
      return;
    case 'bcast':
      await comm.bcast(comm.rank === 0 ? value : undefined, 0, o);
      return;
    case 'gather':
      await comm.gather(value, 0, o);
      return;
    case 'allgather':
      await comm.allgather(value, o);
      return;
    case 'scatter':
      await comm.scatter(comm.rank === 0 ? Array.from({ length: comm.size }, () => value) : undefined, 0, o);
      return;
  }
  throw new UsageError(`unknown operation "${op}"`);
}

/**
 * The measured program of one rank: for every step, warm-up runs then timed runs, each started right after
 * a barrier so all ranks begin together. Returns durations[step][run] in milliseconds.
 */
export async function rankProgram(comm: Communicator, plan: readonly BenchStep[], runs: number, warmup: number, timeoutMs: number): Promise<number[][]> {
  const out: number[][] = [];
  for (const step of plan) {
    const value = payloadFor(step.op, step.bytes, comm.rank);
    const durations: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      await comm.barrier({ timeoutMs });
      const t0 = performance.now();
      await runOp(comm, step.op, value, timeoutMs);
      const elapsed = performance.now() - t0;
      if (i >= warmup) durations.push(elapsed);
    }
    out.push(durations);
  }
  // Nobody reports (and later closes) while a peer may still wait for its last frames.
  await comm.barrier({ timeoutMs });
  return out;
}
