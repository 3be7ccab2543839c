// What a function handler is told about the instance running it. Every compute backend (local worker
// processes, Lambda) builds one, so a handler never needs to know where it runs.

/** An instance's start-up, in parts, as its backend measured it (reported on its cold invocation). */
export interface InstanceStartup {
  /** The process up and the runtime booted, until the handlers' code began to load, ms. */
  processMs: number;
  /** Loading the handlers' code, ms. */
  codeMs: number;
  /** Of the start-up, what this invocation waited for: 0 for an instance started ahead and ready. */
  waitedMs: number;
  /** The instance was started ahead of its first invocation (a warm pool), and told what it would run. */
  prestarted: boolean;
}

export interface InvocationContext {
  /** Stable id of the instance (a worker process, a Lambda log stream). */
  instanceId: string;
  /** 1 for the instance's first invocation. */
  invocation: number;
  /** True when this invocation paid the instance's start-up. */
  coldStart: boolean;
  /** Instance start-up (process + code load) in ms, on the cold invocation; 0 when warm. */
  initMs: number;
  /** The start-up's parts, where the backend measures them; absent: initMs was waited for whole. */
  startup?: InstanceStartup;
  /**
   * The instance's place in its pool, 0 to concurrency - 1, kept for the life of its process (a
   * replacement takes the slot of the instance it replaces): what pins it to one GPU. Absent where the
   * platform has no fixed pool (Lambda).
   */
  slot?: number;
  memoryLimitMb: number;
  /** Milliseconds left before the platform stops the invocation. */
  remainingMs(): number;
  /** Live progress for the caller (dropped where the platform has no channel for it). */
  progress(data: unknown): void;
  /** Peak resident memory of the instance so far, bytes. */
  peakRssBytes(): number;
}

/** A function handler as both backends call it. */
export type Handler<E = unknown, R = unknown> = (event: E, ctx: InvocationContext) => Promise<R>;

/**
 * What an instance started ahead of its first invocation may do with a hint of it (the run it will
 * serve): start its slow set-up, such as opening the model, so the invocation finds it under way.
 */
export type Preparer = (event: unknown, ctx: { slot?: number }) => void;
