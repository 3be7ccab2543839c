// Configuration of the local compute backend: worker processes that behave like function instances
// (a memory figure, a per-invocation timeout, reused warm after a cold start).
import { availableParallelism } from 'node:os';
import type { EngineConfig } from '../backend.js';
import { MAX_FUNCTION_TIMEOUT_S, MAX_MEMORY_MB, MIN_MEMORY_MB, checkInstanceFigures, threadLimit, type ComputeLimits, type ThreadLimit } from '../limits.js';

/** Name of this backend in the registry and in run summaries. */
export const LOCAL_PROCESSES = 'local-processes' as const;

export interface LocalComputeConfig extends EngineConfig {
  /** How often the RSS watchdog samples, ms (default 100). */
  watchdogIntervalMs?: number;
  /** The function the instances run: a module URL and its export (default: the task handlers of compute/tasks.ts). */
  handler?: { module: string; name: string };
}

/**
 * Lambda's memory bounds keep local figures comparable; a local instance may run longer than Lambda's 900 s
 * (up to a day), and by default gets what the study gave its functions.
 */
export const LOCAL_LIMITS: ComputeLimits = Object.freeze({
  memoryMb: { min: MIN_MEMORY_MB, max: MAX_MEMORY_MB, default: 3008 },
  timeoutS: { min: 1, max: 86_400, default: MAX_FUNCTION_TIMEOUT_S },
});

/** Threads per instance so that instances x threads fits the cores (at least one). */
export function defaultThreadsPerInstance(concurrency: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, concurrency)));
}

/** An instance shares this machine's cores: a run may ask for at most a small multiple of them. */
export function maxLocalThreads(cores = availableParallelism()): ThreadLimit {
  return threadLimit(cores, `the ${cores} core${cores === 1 ? '' : 's'} of this machine`);
}

export function checkComputeConfig(c: LocalComputeConfig): void {
  checkInstanceFigures(LOCAL_LIMITS, c);
}
