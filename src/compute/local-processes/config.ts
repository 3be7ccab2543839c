// Configuration of the local compute backend: worker processes that behave like function instances
// (a memory figure, a per-invocation timeout, reused warm after a cold start).
import { availableParallelism } from 'node:os';
import { UsageError } from '../../errors.js';

export interface LocalComputeConfig {
  /** Instances running at once; the pool never exceeds it. */
  concurrency: number;
  /** Memory limit of one instance in MiB (V8 heap cap plus an RSS watchdog over the whole process). */
  memoryMb: number;
  /** Per-invocation limit in seconds; the instance is killed when it passes. */
  timeoutS: number;
  /** Environment of the instances (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How often the RSS watchdog samples, ms (default 100). */
  watchdogIntervalMs?: number;
  /** The function the instances run: a module URL and its export (default: the rank handler). */
  handler?: { module: string; name: string };
}

/** Lambda's smallest and largest memory sizes; the same bounds keep local figures comparable. */
export const MIN_MEMORY_MB = 128;
export const MAX_MEMORY_MB = 10_240;
export const DEFAULT_MEMORY_MB = 3008;
export const DEFAULT_TIMEOUT_S = 900;

/** Threads per instance so that instances x threads fits the cores (at least one). */
export function defaultThreadsPerInstance(concurrency: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, concurrency)));
}

export function checkComputeConfig(c: LocalComputeConfig): void {
  if (!Number.isSafeInteger(c.concurrency) || c.concurrency < 1) throw new UsageError(`concurrency must be a positive integer, got ${c.concurrency}`);
  if (!Number.isSafeInteger(c.memoryMb) || c.memoryMb < MIN_MEMORY_MB || c.memoryMb > MAX_MEMORY_MB)
    throw new UsageError(`memory must be an integer from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB} MB, got ${c.memoryMb}`);
  if (!Number.isSafeInteger(c.timeoutS) || c.timeoutS < 1 || c.timeoutS > 86_400) throw new UsageError(`timeout must be an integer from 1 to 86400 seconds, got ${c.timeoutS}`);
}
