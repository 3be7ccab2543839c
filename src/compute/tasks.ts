// The functions an instance serves, by task: what a local worker process runs for the engine, and what the
// Lambda entry point wraps. The rank handler loads with the instance (its start-up is the cold start); the
// report renderer (vega, resvg) only when an instance first renders a report.
import type { InstanceTask } from './backend.js';
import type { Handler } from './context.js';
import { handleRank } from '../workflow/rank-handler.js';

export const TASK_HANDLERS: Readonly<Record<InstanceTask, Handler>> = Object.freeze({
  rank: handleRank,
  report: async (event, ctx) => (await import('../report/report-task.js')).handleReport(event, ctx),
});
