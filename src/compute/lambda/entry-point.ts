// The Lambda entry point: one image serves the four task states of the run, each as its own function
// (handler "dist/compute/lambda/entry-point.<task>") or through `handler` with $CAI_TASK. The events are the
// ones the state machine passes, exactly as on the local engine; only locations are made absolute here
// (relative keys resolve against $CAI_STORAGE_URI) and an s3:// model is fetched into /tmp once per instance.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { peakRssBytes } from '../../util/peak-memory.js';
import { initialize as initializeRun } from '../../workflow/initialize.js';
import { summarize as summarizeRun } from '../../workflow/summarize.js';
import { parseContract, runConfigSchema, type PlanRef, type RankOutcome, type ReportOutput, type RunConfig, type SummarizeOutput } from '../../workflow/contracts.js';
import { TASK_HANDLERS } from '../tasks.js';
import { LAMBDA_BACKEND_NAME, LAMBDA_ENV, LAMBDA_TASKS, type LambdaTask } from './config.js';
import { invocationContext, LambdaInstance, memoryLimitOf, type LambdaContextLike } from './lambda-context.js';
import { defaultStorageRoot, resolveRunLocations } from './locations.js';
import { ModelCache } from './model-cache.js';

export type { LambdaContextLike } from './lambda-context.js';
export type { SummarizeOutput } from '../../workflow/contracts.js';
export { LAMBDA_BACKEND_NAME } from './config.js';

// Measured when this module has loaded: the runtime's start-up plus loading the code (the cold start).
const instance = new LambdaInstance(process.uptime() * 1000);
const models = new ModelCache(process.env[LAMBDA_ENV.modelCacheDir] || join(tmpdir(), 'cai-models'));

/** One line per invocation in the function's log: what CloudWatch needs to chart cold starts and memory. */
interface InvocationLog {
  cai: 'invocation';
  task: LambdaTask;
  requestId: string;
  instance: string;
  invocation: number;
  coldStart: boolean;
  initMs: number;
  modelFetchMs?: number;
  durationMs: number;
  memoryLimitMB: number;
  peakRssMB: number;
  outcome: 'ok' | 'error';
  error?: string;
  runId?: string;
  rank?: number;
}

/** The invocation records of this instance, newest last (kept short; a warm instance lives for hours). */
export const invocationLog: InvocationLog[] = [];
const LOG_KEEP = 100;

function record(line: InvocationLog): void {
  invocationLog.push(line);
  if (invocationLog.length > LOG_KEEP) invocationLog.shift();
  // Only on Lambda: the line goes to CloudWatch; elsewhere (tests, tools) the array is enough.
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) console.log(JSON.stringify(line));
}

function runOf(event: unknown): RunConfig {
  const run = (event as { run?: unknown } | null)?.run ?? null;
  return parseContract(runConfigSchema, JSON.stringify(run), '(run configuration)');
}

/** The event with its run's locations made absolute for this instance. */
function withLocations<E extends object>(event: E, run: RunConfig): E & { run: RunConfig } {
  return { ...event, run: resolveRunLocations(run, defaultStorageRoot(process.env, LAMBDA_ENV.storageUri)) };
}

async function invoke<R>(task: LambdaTask, event: unknown, ctx: LambdaContextLike, body: (start: ReturnType<LambdaInstance['begin']>, log: InvocationLog) => Promise<R>): Promise<R> {
  const t0 = performance.now();
  const start = instance.begin(ctx);
  const log: InvocationLog = {
    cai: 'invocation',
    task,
    requestId: ctx.awsRequestId,
    instance: start.instanceId,
    invocation: start.invocation,
    coldStart: start.cold,
    initMs: Math.round(start.initMs),
    durationMs: 0,
    memoryLimitMB: memoryLimitOf(ctx),
    peakRssMB: 0,
    outcome: 'ok',
  };
  const ev = event as { run?: { runId?: unknown }; rank?: unknown } | null;
  if (typeof ev?.run?.runId === 'string') log.runId = ev.run.runId.slice(0, 64);
  if (typeof ev?.rank === 'number') log.rank = ev.rank;
  try {
    return await body(start, log);
  } catch (e) {
    log.outcome = 'error';
    log.error = e instanceof Error ? e.name : 'Error';
    throw e;
  } finally {
    log.durationMs = Math.round(performance.now() - t0);
    log.peakRssMB = Math.round(peakRssBytes() / 1e5) / 10;
    record(log);
  }
}

/** Initialize: plan the run; returns the small plan reference the Map iterates over. */
export async function initialize(event: unknown, context: LambdaContextLike): Promise<PlanRef> {
  return invoke('initialize', event, context, async () => {
    const out = await initializeRun(withLocations(event as object, runOf(event)));
    return out.ref;
  });
}

/** One rank: its partitions through the model (kept warm across invocations of this instance). */
export async function rank(event: unknown, context: LambdaContextLike): Promise<RankOutcome> {
  return invoke('rank', event, context, async (start, log) => {
    const run = withLocations(event as object, runOf(event)).run;
    // A no-data run never touches the model; otherwise the fetch counts toward this invocation's cold start.
    const model = run.mode === 'inference' ? await models.resolve(run.model.path) : { path: run.model.path, fetchMs: 0, fetched: false };
    if (model.fetched) log.modelFetchMs = Math.round(model.fetchMs);
    const ctx = invocationContext(context, start, { extraInitMs: model.fetchMs, fallbackMemoryMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || run.memoryMb });
    return TASK_HANDLERS.rank({ ...(event as object), run: { ...run, model: { path: model.path } } }, ctx) as Promise<RankOutcome>;
  });
}

/** Summarize: merge, account, score and price; the output points at summary.json. */
export async function summarize(event: unknown, context: LambdaContextLike): Promise<SummarizeOutput> {
  return invoke('summarize', event, context, async () => {
    const summary = await summarizeRun(withLocations(event as object, runOf(event)), { backend: LAMBDA_BACKEND_NAME });
    return { runId: summary.runId, status: summary.status, summary: summary.outputs.summary };
  });
}

/** Report: the plots and the HTML page next to the results; the execution's output says where (or why not). */
export async function report(event: unknown, context: LambdaContextLike): Promise<ReportOutput> {
  return invoke('report', event, context, async (start) => {
    const run = runOf(event);
    const ctx = invocationContext(context, start, { fallbackMemoryMb: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || run.memoryMb });
    return TASK_HANDLERS.report(withLocations(event as object, run), ctx) as Promise<ReportOutput>;
  });
}

const LAMBDA_HANDLERS: Record<LambdaTask, (event: unknown, context: LambdaContextLike) => Promise<unknown>> = { initialize, rank, summarize, report };

/** One handler for all tasks, chosen by $CAI_TASK (for a single-function deployment). */
export async function handler(event: unknown, context: LambdaContextLike): Promise<unknown> {
  const task = process.env[LAMBDA_ENV.task] as LambdaTask | undefined;
  if (!task || !LAMBDA_TASKS.includes(task)) throw new UsageError(`$${LAMBDA_ENV.task} must be one of ${LAMBDA_TASKS.join(', ')}, got "${task ?? ''}"`);
  return LAMBDA_HANDLERS[task](event, context);
}
