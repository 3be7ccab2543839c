// The functions an instance serves, by task: what a local worker process runs for the engine, and what the
// Lambda entry point wraps. The rank handler loads with the instance (its start-up is the cold start); the
// report renderer (vega, resvg) only when an instance first renders a report. An instance started ahead
// of its first invocation may be told what it will run, and its task's preparer starts the slow set-up.
import type { InstanceTask } from './backend.js';
import type { Handler, Preparer } from './context.js';
import { handleRank, prepareRank } from '../workflow/rank-handler.js';

export const TASK_HANDLERS: Readonly<Record<InstanceTask, Handler>> = Object.freeze({
  rank: handleRank,
  report: async (event, ctx) => (await import('../report/report-task.js')).handleReport(event, ctx),
});

/** What an instance started ahead can set up for each task before its first invocation: the rank's model. */
export const TASK_PREPARERS: Readonly<Partial<Record<InstanceTask, Preparer>>> = Object.freeze({ rank: prepareRank });
