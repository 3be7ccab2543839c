// What a function handler is told about the instance running it. Every compute backend (local worker
// processes, Lambda) builds one, so a handler never needs to know where it runs.

export interface InvocationContext {
  /** Stable id of the instance (a worker process, a Lambda log stream). */
  instanceId: string;
  /** 1 for the instance's first invocation. */
  invocation: number;
  /** True when this invocation paid the instance's start-up. */
  coldStart: boolean;
  /** Instance start-up (process + code load) in ms, on the cold invocation; 0 when warm. */
  initMs: number;
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
