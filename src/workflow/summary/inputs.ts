// What the summary is made from: one row per rank of the plan (its results, or why it has none), however
// the rows were obtained (read back from storage by Summarize, or gathered over FMI by the root rank), and
// what the engine that ran the Map knows about its invocations.
import type { Dataset } from '../../data/dataset.js';
import type { Predictions } from '../../inference/predictions.js';
import type { Plan, RankResult, RunConfig, Summary } from '../contracts.js';

/** What the engine that ran the Map knows about its invocations (the platform's own record). */
export interface InvocationRecord {
  rank: number;
  durationMs: number;
  cold: boolean;
  outcome: 'ok' | 'error' | 'crash' | 'timeout' | 'memory';
}

export interface SummarizeExtras {
  /** Name of the compute backend, for the summary. */
  backend?: string;
  /** Every rank invocation of this attempt, retries included. Without it, one per rank run is assumed. */
  invocations?: readonly InvocationRecord[];
}

/** One rank of the plan as the summary sees it: its results, or why it has none. */
export interface RankRow {
  rank: number;
  reused: boolean;
  loaded?: { result: RankResult; predictions: Predictions };
  failure?: { error: string; cause: string };
  noDataMs?: number;
}

/** Everything writeSummary needs; the rows may come from storage or from an FMI gather. */
export interface SummaryInputs {
  run: RunConfig;
  plan: Plan;
  /** Ranks this attempt ran (the Map's items). */
  ranThisTime: number;
  /** Ranks whose results an earlier attempt of the run id left and this one kept. */
  reused: readonly number[];
  initializeMs: number;
  rows: RankRow[];
  extras: SummarizeExtras;
  /** When summarizing started (performance.now()), for the summarizing function's cost. */
  t0: number;
  /** The data set, when the caller has it open already. */
  dataset?: Dataset;
  aggregation?: Summary['aggregation'];
}
