// Messages between the pool and an instance over the IPC channel (JSON).
import type { InstanceTask } from '../backend.js';
import type { InstanceStartup } from '../context.js';

export interface InstanceInfo {
  /** Stable id of the instance, e.g. "local-3-pid1234". */
  id: string;
  /** 1 for the first invocation on this instance. */
  invocation: number;
  /** True on the instance's first invocation (the process and its code were just loaded). */
  cold: boolean;
  /** Instance start-up time (process + code load), ms; reported on the cold invocation. */
  initMs: number;
  /** The start-up in parts, on the cold invocation. */
  startup?: InstanceStartup;
  /** The instance's slot in the pool, 0 to concurrency - 1, fixed for its life. */
  slot: number;
  memoryLimitMb: number;
  /** Epoch ms by which the invocation must finish. */
  deadline: number;
}

export type ToInstance =
  | { type: 'invoke'; id: number; task: InstanceTask; payload: unknown; instance: InstanceInfo }
  /** Sent to an instance started ahead: what its first invocation will be like, to start its set-up early. */
  | { type: 'prepare'; task: InstanceTask; payload: unknown };

export type FromInstance =
  /** initMs: process start to handlers loaded (the instance's own clock); bootMs: to the start of code loading. */
  | { type: 'ready'; initMs: number; bootMs: number }
  | { type: 'progress'; id: number; data: unknown }
  | { type: 'result'; id: number; value: unknown; maxRssBytes: number }
  | { type: 'error'; id: number; errorType: string; message: string; maxRssBytes: number };
