// A run priced as if on Lambda + Step Functions at the study's prices: every rank invocation's billed
// duration at the run's memory, Initialize and Summarize at the control functions' memory, requests and
// state transitions. Pure: figures in, the itemised bill with its arithmetic out.
import { lambdaRunCost, memoryGBFromMB, STUDY_PRICES, type CostBreakdown, type InvocationGroup } from '../../cost/lambda-cost.js';
import type { RunConfig } from '../contracts.js';

/** Memory assumed for the Initialize and Summarize functions when pricing a run. */
export const CONTROL_MEMORY_MB = 1024;

export interface RunCostFigures {
  /** Ranks this attempt ran (the Map's items). */
  ranThisTime: number;
  initializeMs: number;
  rankDurationsMs: readonly number[];
  summarizeMs: number;
  retries: number;
}

export function runCost(run: Pick<RunConfig, 'memoryMb'>, f: RunCostFigures): CostBreakdown {
  const groups: InvocationGroup[] = [
    { label: 'ranks', memoryGB: memoryGBFromMB(run.memoryMb), durationsMs: f.rankDurationsMs },
    { label: 'initialize', memoryGB: memoryGBFromMB(CONTROL_MEMORY_MB), durationsMs: [f.initializeMs] },
    { label: 'summarize', memoryGB: memoryGBFromMB(CONTROL_MEMORY_MB), durationsMs: [f.summarizeMs] },
  ];
  return lambdaRunCost({ lambda: groups, stateMachine: { mapItems: f.ranThisTime, statesPerItem: 1, retries: f.retries } }, STUDY_PRICES);
}
