// The compute seam: where a run's function invocations run. Each backend is a sibling folder of the same
// shape (config.ts: defaults and checks; engine.ts: what runs the invocations; entry-point.ts: what runs
// inside an instance; index.ts: the backend object) listed once in the registry (compute/index.ts). The
// workflow spine asks the registry by name and never imports a backend.
//
// A backend runs a run's state machine in one of two ways:
//   - `invocations`: the embedded state machine (workflow/local-engine.ts) runs on this machine and hands
//     each function invocation to the backend's engine (worker processes here; a GPU or EC2 instance pool
//     would be another such backend). The engine reports every invocation's start and end.
//   - `executions`: the platform runs the whole state machine itself (AWS Step Functions over Lambda); the
//     engine starts an execution and follows it.
import type { ComputeLimits, InstanceFigures, ThreadLimit } from './limits.js';

export type { ComputeLimits, InstanceFigures, ThreadLimit } from './limits.js';

/** How an invocation ended, as the platform saw it. */
export type InvocationOutcome = 'ok' | 'error' | 'crash' | 'timeout' | 'memory';

/** The functions an instance serves, by the task state that invokes them (compute/tasks.ts). */
export type InstanceTask = 'rank' | 'report';

export interface InvocationStart {
  invocationId: number;
  /** Stable id of the instance that runs it. */
  instanceId: string;
  /** Process id of the instance, where it is one on this machine (-1 otherwise). */
  pid: number;
  /** True when this invocation paid the instance's start-up. */
  cold: boolean;
  /** What the caller named it, e.g. "rank 3". */
  label?: string;
  task?: InstanceTask;
}

export interface InvocationEnd extends InvocationStart {
  durationMs: number;
  outcome: InvocationOutcome;
  /** The error name the state machine matches Retry and Catch on. */
  errorType?: string;
  /** Peak resident memory of the instance, MiB. */
  peakRssMb?: number;
}

export interface InvokeOptions {
  /** Which function of the instance to run (default: the rank handler). */
  task?: InstanceTask;
  /** Shown in events and errors, e.g. "rank 3". */
  label?: string;
  /** Live progress the invocation reports (dropped where the platform has no channel for it). */
  onProgress?: (data: unknown) => void;
}

/** What every invocation engine is opened with: the instances' figures and their environment. */
export interface EngineConfig extends InstanceFigures {
  /** Environment of the instances (default: this process's); an FMI run adds its secret here. */
  env?: NodeJS.ProcessEnv;
}

/** Runs function invocations for the embedded state machine: at most `concurrency` at once. */
export interface InvocationEngine {
  readonly kind: 'invocations';
  /** The backend's name, as run summaries record it. */
  readonly backend: string;
  readonly figures: InstanceFigures;
  /** One invocation; rejects with an error whose name is what the platform reports (Runtime.ExitError, ...). */
  invoke<T = unknown>(event: unknown, opts?: InvokeOptions): Promise<T>;
  /**
   * Start up to `count` instances ahead of the invocations (where the platform can), each told the task
   * and an event like its first invocation's so it can begin its slow set-up (the rank's model).
   */
  prestart?(count: number, hint?: { task: InstanceTask; event: unknown }): void;
  /** Listen to invocation starts and ends; each returns a function that stops listening. */
  onStart(listener: (s: InvocationStart) => void): () => void;
  onEnd(listener: (e: InvocationEnd) => void): () => void;
  /** Stop every instance. */
  close(): Promise<void>;
}

/** A platform that runs the whole state machine; its backend folder says how to start and follow one. */
export interface ExecutionEngine {
  readonly kind: 'executions';
  readonly backend: string;
  close(): Promise<void>;
}

interface BackendBase {
  /** Registry key, and `configuration.backend` of the runs it serves. */
  readonly name: string;
  readonly limits: ComputeLimits;
  /** Refuse instance figures this platform cannot give (a UsageError naming the figure). */
  checkFigures(figures: InstanceFigures): void;
  /** Model threads per instance when a run does not say: what one instance has to itself. */
  threadsPerInstance(figures: Pick<InstanceFigures, 'concurrency' | 'memoryMb'>): number;
  /** The most model threads a run may ask of an instance: a small multiple of the cores it has. */
  maxThreadsPerInstance(figures: Pick<InstanceFigures, 'memoryMb'>): ThreadLimit;
}

export interface InvocationBackend extends BackendBase {
  readonly runs: 'invocations';
  open(config: EngineConfig): Promise<InvocationEngine>;
}

export interface ExecutionBackend<Config, Engine extends ExecutionEngine> extends BackendBase {
  readonly runs: 'executions';
  open(config: Config): Promise<Engine>;
}

export type ComputeBackend = InvocationBackend | ExecutionBackend<never, ExecutionEngine>;
