// The channel performance/cost model. For one operation it takes the algorithm the communicator would run
// (the core's selectAlgorithm, fed this channel's latency and per-message CPU time), counts its rounds,
// messages and bytes, and predicts latency and price:
//
//   hop        = latency + poll overshoot (S3 only: the receiver's next poll after the frame lands)
//   network    = rounds · hop + criticalBytes / bandwidth
//   cpu        = max(rounds, messages / cores) · cpuPerMessage        cores = worldSize / ranksPerCore
//   server     = messages · serverPerMessage + totalBytes / aggregateBandwidth
//   latency    = max(network + cpu, server)
//   channel $  = messages · (put + reads · get) + totalBytes/10^9 · perGB + hourPrice / opsPerHour
//   function $ = latency · worldSize · memoryGiB · GiBsecondPrice      (every rank waits, and pays)
//   total $    = channel $ + function $
import { UsageError } from '../../errors.js';
import { ceilLog2 } from '../collectives/context.js';
import { ALGORITHMS, algorithmShape, selectAlgorithm, type CollectiveOp } from '../collectives/select.js';
import type { ChannelModel, PolicyChannel, PolicyConfig } from './config.js';

export type PolicyOp = CollectiveOp | 'send';
export const POLICY_OPS: readonly PolicyOp[] = ['send', ...(Object.keys(ALGORITHMS) as CollectiveOp[])];

/** What an algorithm puts on the wire. */
export interface Traffic {
  algorithm: string;
  rounds: number;
  messages: number;
  /** Bytes that pass one after another along the slowest rank's path. */
  criticalBytes: number;
  /** Bytes of all messages together. */
  totalBytes: number;
}

export interface ModelOptions {
  /** Ranks sharing one CPU core; 1 = every rank has a core (as with one function instance per rank). */
  ranksPerCore?: number;
}

export interface ChannelPrediction {
  channel: PolicyChannel;
  enabled: boolean;
  algorithm: string;
  rounds: number;
  messages: number;
  /** Read requests per message (S3 polls; 1 elsewhere). */
  readsPerMessage: number;
  latencyMs: number;
  channelCostUsd: number;
  functionCostUsd: number;
  totalCostUsd: number;
  /** Which term bounds the latency. */
  bound: 'network' | 'server';
}

/**
 * Sum over non-root ranks of the size of their binomial subtree: the number of items that travel in a
 * binomial gather or scatter (each item moves once per tree level it climbs).
 */
export function binomialItemsMoved(n: number): number {
  let total = 0;
  for (let r = 1; r < n; r++) total += Math.min(r & -r, n - r);
  return total;
}

/** Rounds, messages and bytes of `algorithm` for `op` over `n` ranks with `bytes` per rank. */
export function traffic(op: PolicyOp, algorithm: string, n: number, bytes: number): Traffic {
  if (op === 'send') return { algorithm: 'direct', rounds: 1, messages: 1, criticalBytes: bytes, totalBytes: bytes };
  const { rounds, messages } = algorithmShape(op, algorithm, n);
  const L = ceilLog2(n);
  const b = bytes;
  const items = binomialItemsMoved(n);
  let criticalBytes: number;
  let totalBytes: number;
  switch (`${op}/${algorithm}`) {
    case 'barrier/dissemination':
    case 'barrier/tree':
      criticalBytes = 0;
      totalBytes = 0;
      break;
    case 'bcast/binomial':
    case 'reduce/binomial':
      criticalBytes = L * b;
      totalBytes = (n - 1) * b;
      break;
    case 'reduce/gather-fold':
    case 'gather/binomial':
    case 'scatter/binomial':
      criticalBytes = (n - 1) * b;
      totalBytes = items * b;
      break;
    case 'allgather/bruck':
      criticalBytes = (n - 1) * b;
      totalBytes = n * (n - 1) * b;
      break;
    case 'allgather/gather-bcast':
      criticalBytes = (n - 1) * b + L * n * b;
      totalBytes = items * b + (n - 1) * n * b;
      break;
    case 'scan/linear':
      criticalBytes = (n - 1) * b;
      totalBytes = (n - 1) * b;
      break;
    default:
      // Round-based algorithms that send one whole value per message (recursive doubling, reduce+bcast,
      // Hillis-Steele and tree scans).
      criticalBytes = rounds * b;
      totalBytes = messages * b;
  }
  return { algorithm, rounds, messages, criticalBytes, totalBytes };
}

/** S3 receive polling: polls at 0, i, i+i·f, ... (intervals capped at `max`) until one lands after `waitMs`. */
export function pollSchedule(waitMs: number, initialMs: number, maxMs: number, factor = 2): { polls: number; overshootMs: number } {
  let t = 0;
  let interval = initialMs;
  let polls = 1;
  while (t < waitMs) {
    t += interval;
    interval = Math.min(interval * factor, maxMs);
    polls++;
  }
  return { polls, overshootMs: t - waitMs };
}

/** Predict one channel's latency and cost for one operation. */
export function predict(config: PolicyConfig, channel: PolicyChannel, op: PolicyOp, bytes: number, worldSize: number, options: ModelOptions = {}): ChannelPrediction {
  checkInputs(op, bytes, worldSize);
  const m: ChannelModel = config.model[channel];
  const ranksPerCore = Math.max(1, options.ranksPerCore ?? 1);
  const algorithm =
    op === 'send' ? 'direct' : selectAlgorithm(op, worldSize, { ranksPerCore, latencyUs: m.latency_ms * 1000, perMessageUs: m.cpu_message_us }).algorithm;
  const t = traffic(op, algorithm, worldSize, bytes);

  let overshoot = 0;
  let reads = 1;
  if (channel === 's3') {
    const s = pollSchedule(m.latency_ms, config.channels.s3.poll_initial_ms, config.channels.s3.poll_max_ms);
    overshoot = s.overshootMs;
    reads = s.polls;
  }
  const cores = Math.max(1, worldSize / ranksPerCore);
  const network = t.rounds * (m.latency_ms + overshoot) + t.criticalBytes / (m.bandwidth_mb_s * 1000);
  const cpu = (Math.max(t.rounds, t.messages / cores) * m.cpu_message_us) / 1000;
  const server = (t.messages * m.server_message_us) / 1000 + (m.aggregate_bandwidth_mb_s ? t.totalBytes / (m.aggregate_bandwidth_mb_s * 1000) : 0);
  const latencyMs = Math.max(network + cpu, server);

  const channelCostUsd = t.messages * (m.put_price_usd + reads * m.get_price_usd) + (t.totalBytes / 1e9) * m.gb_price_usd + m.hour_price_usd / m.ops_per_hour;
  const fn = config.model.function;
  const functionCostUsd = (latencyMs / 1000) * worldSize * fn.memory_gib * fn.gib_second_price_usd;
  return {
    channel,
    enabled: config.channels[channel].enabled,
    algorithm,
    rounds: t.rounds,
    messages: t.messages,
    readsPerMessage: reads,
    latencyMs,
    channelCostUsd,
    functionCostUsd,
    totalCostUsd: channelCostUsd + functionCostUsd,
    bound: server > network + cpu ? 'server' : 'network',
  };
}

function checkInputs(op: PolicyOp, bytes: number, worldSize: number): void {
  if (!POLICY_OPS.includes(op)) throw new UsageError(`unknown operation "${op}"; choose one of ${POLICY_OPS.join(', ')}`);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new UsageError(`message size must be a non-negative integer number of bytes, got ${bytes}`);
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new UsageError(`world size must be a positive integer, got ${worldSize}`);
}
