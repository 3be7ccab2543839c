// Enumerate every platform's candidates for a workload, predict each, and mark the Pareto front.
import { paretoFlags } from './pareto.js';
import { PLATFORMS, PLATFORM_NAMES } from './platforms/index.js';
import type { Estimate, PlanEnv, PlatformName, Workload } from './types.js';

export interface Candidate extends Estimate {
  /** On the Pareto front of time against cost (among feasible candidates). */
  pareto: boolean;
}

export function enumerateCandidates(w: Workload, env: PlanEnv, platforms: readonly PlatformName[] = PLATFORM_NAMES): Candidate[] {
  const estimates: Estimate[] = [];
  for (const name of platforms) {
    const model = PLATFORMS[name];
    for (const s of model.candidates(w, env)) estimates.push(model.estimate(w, s, env));
  }
  const flags = paretoFlags(estimates);
  return estimates.map((e, i) => ({ ...e, pareto: flags[i] }));
}
