// The Lambda runtime's context object as the entry point uses it, and the instance's own bookkeeping: an
// instance (a container) is cold on its first invocation and warm after, whatever function it serves.
import { randomBytes } from 'node:crypto';
import { peakRssBytes } from '../../util/peak-memory.js';
import type { InvocationContext } from '../context.js';

/** The fields of the Node.js runtime's context the entry point reads. */
export interface LambdaContextLike {
  awsRequestId: string;
  functionName?: string;
  /** The configured memory, as the runtime gives it (a string in the Node.js runtime). */
  memoryLimitInMB: string | number;
  /** One log stream per instance, which makes it a stable instance id. */
  logStreamName?: string;
  getRemainingTimeInMillis(): number;
}

export function memoryLimitOf(ctx: LambdaContextLike): number {
  const mb = Number(ctx.memoryLimitInMB);
  return Number.isSafeInteger(mb) && mb > 0 ? mb : 0;
}

export interface InvocationStartInfo {
  invocation: number;
  cold: boolean;
  /** Instance start-up up to the handler module being loaded, ms; 0 when warm. */
  initMs: number;
  instanceId: string;
}

/** One per process: counts invocations and remembers the start-up time for the cold one. */
export class LambdaInstance {
  private invocations = 0;
  private id: string | undefined;

  /** @param initMs process start-up and code load, measured when the handler module finished loading. */
  constructor(readonly initMs: number) {}

  begin(ctx: LambdaContextLike): InvocationStartInfo {
    this.invocations++;
    this.id ??= ctx.logStreamName || `lambda-${process.pid}-${randomBytes(3).toString('hex')}`;
    const cold = this.invocations === 1;
    return { invocation: this.invocations, cold, initMs: cold ? this.initMs : 0, instanceId: this.id };
  }

  get count(): number {
    return this.invocations;
  }
}

/** The handler-facing context. Progress has no channel on Lambda (the Map's item counts show it instead). */
export function invocationContext(ctx: LambdaContextLike, start: InvocationStartInfo, figures: { extraInitMs?: number; fallbackMemoryMb: number }): InvocationContext {
  return {
    instanceId: start.instanceId,
    invocation: start.invocation,
    coldStart: start.cold,
    initMs: start.initMs + (figures.extraInitMs ?? 0),
    memoryLimitMb: memoryLimitOf(ctx) || figures.fallbackMemoryMb,
    remainingMs: () => Math.max(0, ctx.getRemainingTimeInMillis()),
    progress: () => undefined,
    peakRssBytes,
  };
}
