// The limits a function instance has on every compute backend, taken from AWS Lambda: 128-10,240 MB of
// memory and at most 900 s per invocation. The local worker processes honour the same memory bounds so
// that local figures stay comparable with Lambda's; each backend states its own ranges in these terms.
import { UsageError } from '../errors.js';

/** Lambda's smallest and largest memory sizes, MB. */
export const MIN_MEMORY_MB = 128;
export const MAX_MEMORY_MB = 10_240;
/** Lambda's longest invocation, seconds. */
export const MAX_FUNCTION_TIMEOUT_S = 900;
/**
 * Model threads an instance may ask for per core it has: onnxruntime's threads spin while they wait, so
 * beyond a small oversubscription more threads only crawl.
 */
export const MAX_THREADS_PER_CORE = 2;

export interface Range {
  min: number;
  max: number;
}

/** What a backend can give one instance, and what it gives when a run does not say. */
export interface ComputeLimits {
  memoryMb: Range & { default: number };
  timeoutS: Range & { default: number };
}

/** The most model threads an instance may run, and why (for the usage error). */
export interface ThreadLimit {
  max: number;
  /** "twice the 2 cores of this machine" */
  why: string;
}

/** The limit for an instance with `cores` cores (or vCPUs), described by `of` ("the 2 cores of this machine"). */
export function threadLimit(cores: number, of: string): ThreadLimit {
  return { max: Math.max(1, cores) * MAX_THREADS_PER_CORE, why: `${MAX_THREADS_PER_CORE === 2 ? 'twice' : `${MAX_THREADS_PER_CORE} times`} ${of}` };
}

/** The figures every instance of a run gets, and how many instances run at once. */
export interface InstanceFigures {
  concurrency: number;
  memoryMb: number;
  timeoutS: number;
}

export function inRange(v: number, r: Range): boolean {
  return Number.isSafeInteger(v) && v >= r.min && v <= r.max;
}

/** Refuse figures outside the backend's limits, naming the figure and the range. */
export function checkInstanceFigures(limits: ComputeLimits, f: InstanceFigures): void {
  if (!Number.isSafeInteger(f.concurrency) || f.concurrency < 1) throw new UsageError(`concurrency must be a positive integer, got ${f.concurrency}`);
  if (!inRange(f.memoryMb, limits.memoryMb)) throw new UsageError(`memory must be an integer from ${limits.memoryMb.min} to ${limits.memoryMb.max} MB, got ${f.memoryMb}`);
  if (!inRange(f.timeoutS, limits.timeoutS)) throw new UsageError(`timeout must be an integer from ${limits.timeoutS.min} to ${limits.timeoutS.max} seconds, got ${f.timeoutS}`);
}
