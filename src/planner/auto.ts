// Planning a run to run it (`cai run --auto`): the same candidates and pick as `cai plan`, with Lambda held
// to the memory of the function that is deployed when the run is to start there, and the prediction the
// run records. Pure: workload and environment in, the pick out.
import { paretoFlags } from './pareto.js';
import { pickCandidate, type Constraints, type PickResult } from './pick.js';
import { PLATFORMS, PLATFORM_NAMES } from './platforms/index.js';
import { predictionOf, type Prediction } from './prediction.js';
import { enumerateCandidates, type Candidate } from './search.js';
import type { PlanEnv, PlatformName, Workload } from './types.js';

export interface AutoPlanOptions {
  platforms?: readonly PlatformName[];
  constraints: Constraints;
  /** Lambda runs on a deployed function of this memory: its candidates are predicted at it. */
  lambdaMemoryMB?: number;
}

export interface AutoPlan {
  candidates: Candidate[];
  pick: PickResult;
  chosen: Candidate;
  prediction: Prediction;
}

/** Plan for running: the candidates (Lambda at the deployed memory when given), the pick, its prediction. Exit code 6 when nothing meets the constraints. */
export function planRun(w: Workload, env: PlanEnv, o: AutoPlanOptions): AutoPlan {
  const all = enumerateCandidates(w, env, o.platforms ?? PLATFORM_NAMES);
  const candidates = o.lambdaMemoryMB === undefined ? all : atLambdaMemory(all, w, env, o.lambdaMemoryMB);
  const pick = pickCandidate(candidates, o.constraints);
  const chosen = candidates[pick.index]!;
  return { candidates, pick, chosen, prediction: predictionOf(chosen, env) };
}

/** Every Lambda candidate predicted again at one memory size (duplicates dropped), the front recomputed. */
export function atLambdaMemory(candidates: readonly Candidate[], w: Workload, env: PlanEnv, memoryMB: number): Candidate[] {
  const seen = new Set<string>();
  const out = [];
  for (const c of candidates) {
    const e = c.platform === 'lambda' ? PLATFORMS.lambda.estimate(w, { ...c.settings, memoryMB }, env) : c;
    if (seen.has(e.label)) continue;
    seen.add(e.label);
    out.push(e);
  }
  const flags = paretoFlags(out);
  return out.map((e, i) => ({ ...e, pareto: flags[i]! }));
}
