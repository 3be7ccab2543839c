// The local compute backend: a pool of `cai-worker` processes on this machine. The engine module (and the
// child_process machinery) loads only when a run opens it.
import type { InstanceFigures, InvocationBackend } from '../backend.js';
import { LOCAL_LIMITS, LOCAL_PROCESSES, checkComputeConfig, defaultThreadsPerInstance, maxLocalThreads, type LocalComputeConfig } from './config.js';

export const localProcesses = {
  name: LOCAL_PROCESSES,
  runs: 'invocations' as const,
  limits: LOCAL_LIMITS,
  checkFigures: (figures) => checkComputeConfig(figures),
  threadsPerInstance: ({ concurrency }) => defaultThreadsPerInstance(concurrency),
  // Every instance shares this machine's cores, whatever its memory.
  maxThreadsPerInstance: (_figures: Pick<InstanceFigures, 'memoryMb'>) => maxLocalThreads(),
  async open(config: LocalComputeConfig) {
    const { LocalProcessPool } = await import('./engine.js');
    return new LocalProcessPool(config);
  },
} satisfies InvocationBackend;
