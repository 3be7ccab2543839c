// Messages between the pool and an instance over the IPC channel (JSON).
import type { InstanceTask } from '../backend.js';

export interface InstanceInfo {
  /** Stable id of the instance, e.g. "local-3-pid1234". */
  id: string;
  /** 1 for the first invocation on this instance. */
  invocation: number;
  /** True on the instance's first invocation (the process and its code were just loaded). */
  cold: boolean;
  /** Instance start-up time (process + code load), ms; reported on the cold invocation. */
  initMs: number;
  memoryLimitMb: number;
  /** Epoch ms by which the invocation must finish. */
  deadline: number;
}

export type ToInstance = { type: 'invoke'; id: number; task: InstanceTask; payload: unknown; instance: InstanceInfo };

export type FromInstance =
  | { type: 'ready'; initMs: number }
  | { type: 'progress'; id: number; data: unknown }
  | { type: 'result'; id: number; value: unknown; maxRssBytes: number }
  | { type: 'error'; id: number; errorType: string; message: string; maxRssBytes: number };
