// Choosing a collective algorithm. Each candidate is described by its rounds (sequential message latencies)
// and its total message count. When every rank has a core of its own, rounds dominate; when many ranks
// share few cores (many ranks per process, or per small function instance) every message costs CPU time on
// a shared core, so the total message count dominates. Estimated time:
//   rounds · latency + max(rounds, messages / cores) · perMessage,   cores = worldSize / ranksPerCore.
import { UsageError } from '../../errors.js';
import { ceilLog2, floorPow2 } from './context.js';

export type CollectiveOp = 'barrier' | 'bcast' | 'reduce' | 'allreduce' | 'scan' | 'gather' | 'scatter' | 'allgather';

export const ALGORITHMS = {
  barrier: ['dissemination', 'tree'],
  bcast: ['binomial'],
  reduce: ['binomial', 'gather-fold'],
  allreduce: ['recursive-doubling', 'reduce-bcast'],
  scan: ['hillis-steele', 'tree', 'linear'],
  gather: ['binomial'],
  scatter: ['binomial'],
  allgather: ['bruck', 'gather-bcast'],
} as const satisfies Record<CollectiveOp, readonly string[]>;

export type AlgorithmName<O extends CollectiveOp = CollectiveOp> = (typeof ALGORITHMS)[O][number];

export interface SelectOptions {
  /** How many ranks share one CPU core (>= 1 means no sharing). Default 1. Must be the same on every rank. */
  ranksPerCore?: number;
  /** One message's network latency in microseconds. Default 30 (loopback TCP). */
  latencyUs?: number;
  /** CPU time to send and receive one small message, in microseconds. Default 15. */
  perMessageUs?: number;
  /** Properties of the reduction operator (reduce, allreduce, scan). Default: both true. */
  associative?: boolean;
  commutative?: boolean;
}

export interface AlgorithmCost {
  algorithm: string;
  rounds: number;
  messages: number;
  estimatedUs: number;
}

export interface Selection extends AlgorithmCost {
  op: CollectiveOp;
  worldSize: number;
  ranksPerCore: number;
  /** Every algorithm allowed for this operator, cheapest first. */
  candidates: AlgorithmCost[];
}

export const DEFAULT_LATENCY_US = 30;
export const DEFAULT_PER_MESSAGE_US = 15;

/** Rounds and messages of one algorithm at world size n. */
export function algorithmShape(op: CollectiveOp, algorithm: string, n: number): { rounds: number; messages: number } {
  const L = ceilLog2(n);
  const p = floorPow2(n);
  const logP = ceilLog2(p);
  const e = n - p;
  switch (`${op}/${algorithm}`) {
    case 'barrier/dissemination':
      return { rounds: L, messages: n * L };
    case 'barrier/tree':
    case 'allreduce/reduce-bcast':
    case 'scan/tree':
    case 'allgather/gather-bcast':
      return { rounds: 2 * L, messages: 2 * (n - 1) };
    case 'bcast/binomial':
    case 'reduce/binomial':
    case 'reduce/gather-fold':
    case 'gather/binomial':
    case 'scatter/binomial':
      return { rounds: L, messages: n - 1 };
    case 'allreduce/recursive-doubling':
      return { rounds: logP + (e > 0 ? 2 : 0), messages: p * logP + 2 * e };
    case 'scan/hillis-steele':
      return { rounds: L, messages: n * L - (2 ** L - 1) };
    case 'scan/linear':
      return { rounds: n - 1, messages: n - 1 };
    case 'allgather/bruck':
      return { rounds: L, messages: n * L };
  }
  throw new UsageError(`unknown algorithm "${algorithm}" for ${op}; choose one of ${(ALGORITHMS[op] as readonly string[] | undefined)?.join(', ') ?? '(unknown operation)'}`);
}

/** Algorithms that give a correct answer for this operator's properties. */
export function allowedAlgorithms(op: CollectiveOp, associative = true, _commutative = true): readonly string[] {
  if (!(op in ALGORITHMS)) throw new UsageError(`unknown collective "${op}"; choose one of ${Object.keys(ALGORITHMS).join(', ')}`);
  if (!associative) {
    // Without associativity only a strict left-to-right fold is correct.
    if (op === 'reduce') return ['gather-fold'];
    if (op === 'allreduce') return ['reduce-bcast'];
    if (op === 'scan') return ['linear'];
  } else {
    if (op === 'reduce') return ['binomial'];
    if (op === 'scan') return ['hillis-steele', 'tree'];
  }
  return ALGORITHMS[op];
}

/** Pick the algorithm with the lowest estimated time. Deterministic: equal inputs give equal choices on every rank. */
export function selectAlgorithm(op: CollectiveOp, worldSize: number, options: SelectOptions = {}): Selection {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new UsageError(`world size must be a positive integer, got ${worldSize}`);
  const ranksPerCore = Math.max(1, options.ranksPerCore ?? 1);
  const latency = options.latencyUs ?? DEFAULT_LATENCY_US;
  const perMessage = options.perMessageUs ?? DEFAULT_PER_MESSAGE_US;
  const cores = Math.max(1, worldSize / ranksPerCore);
  const candidates = allowedAlgorithms(op, options.associative ?? true, options.commutative ?? true).map((algorithm) => {
    const { rounds, messages } = algorithmShape(op, algorithm, worldSize);
    const estimatedUs = rounds * latency + Math.max(rounds, messages / cores) * perMessage;
    return { algorithm, rounds, messages, estimatedUs: Math.round(estimatedUs * 10) / 10 };
  });
  // Stable sort keeps the listed order (the log-round algorithm first) on ties.
  candidates.sort((a, b) => a.estimatedUs - b.estimatedUs);
  return { op, worldSize, ranksPerCore, ...candidates[0], candidates };
}
