// Choosing among candidates: those that can run and meet the deadline and budget, ranked by the
// objective, with a one-line reason; or, when none meets them, the nearest ones.
import { CaiError, ExitCode } from '../errors.js';
import { fmtUsd } from '../cost/index.js';
import type { Candidate } from './search.js';

export type Objective = 'time' | 'cost' | 'balanced';
export const OBJECTIVES: readonly Objective[] = ['time', 'cost', 'balanced'];

export interface Constraints {
  deadlineS?: number;
  budgetUsd?: number;
  objective: Objective;
}

export interface PickResult {
  index: number;
  reason: string;
  /** Candidates that can run and meet the constraints. */
  eligible: number;
}

const describe = (c: Candidate) => `${c.label} (${fmtSeconds(c.wall_s)}, ${fmtUsd(c.cost_usd)} USD)`;

/** Rank for an objective: smaller is better. Balanced is time x cost: halving the time is worth doubling the cost. */
function score(c: Candidate, objective: Objective): [number, number] {
  if (objective === 'time') return [c.wall_s, c.cost_usd];
  if (objective === 'cost') return [c.cost_usd, c.wall_s];
  return [c.wall_s * c.cost_usd, c.wall_s];
}

function better(a: Candidate, b: Candidate, objective: Objective): boolean {
  const [a0, a1] = score(a, objective);
  const [b0, b1] = score(b, objective);
  return a0 < b0 || (a0 === b0 && a1 < b1);
}

/**
 * The pick under the constraints. When nothing that can run meets them, a CaiError with exit code 6
 * (ExitCode.timeout) whose one line names the nearest candidates.
 */
export function pickCandidate(candidates: readonly Candidate[], k: Constraints): PickResult {
  const meets = (c: Candidate) => c.feasible && (k.deadlineS === undefined || c.wall_s <= k.deadlineS) && (k.budgetUsd === undefined || c.cost_usd <= k.budgetUsd);
  const idx = candidates.map((c, i) => i).filter((i) => meets(candidates[i]));
  if (!idx.length) throw new CaiError(nothingMeets(candidates, k), ExitCode.timeout);
  let best = idx[0];
  for (const i of idx) if (better(candidates[i], candidates[best], k.objective)) best = i;
  const c = candidates[best];
  const within = [k.deadlineS !== undefined ? `the ${fmtSeconds(k.deadlineS)} deadline` : '', k.budgetUsd !== undefined ? `the ${fmtUsd(k.budgetUsd)} USD budget` : ''].filter(Boolean).join(' and ');
  const pool = `${idx.length} candidate${idx.length === 1 ? '' : 's'}${within ? ` within ${within}` : ' that can run'}`;
  const fastest = idx.reduce((b, i) => (better(candidates[i], candidates[b], 'time') ? i : b), idx[0]);
  const cheapest = idx.reduce((b, i) => (better(candidates[i], candidates[b], 'cost') ? i : b), idx[0]);
  let reason: string;
  if (k.objective === 'time') reason = `fastest of ${pool}${cheapest !== best ? `; the cheapest, ${describe(candidates[cheapest])}, takes ${ratio(candidates[cheapest].wall_s, c.wall_s)} as long` : ''}`;
  else if (k.objective === 'cost') reason = `cheapest of ${pool}${fastest !== best ? `; the fastest, ${describe(candidates[fastest])}, costs ${ratio(candidates[fastest].cost_usd, c.cost_usd)} as much` : ''}`;
  else {
    const others = [fastest !== best ? `fastest ${describe(candidates[fastest])}` : '', cheapest !== best ? `cheapest ${describe(candidates[cheapest])}` : ''].filter(Boolean);
    reason = `best time x cost of ${pool}${others.length ? ` (${others.join('; ')})` : ', also the fastest and the cheapest'}`;
  }
  return { index: best, reason: `${describe(c)}: ${reason}`, eligible: idx.length };
}

function nothingMeets(candidates: readonly Candidate[], k: Constraints): string {
  const runnable = candidates.filter((c) => c.feasible);
  const what = [k.deadlineS !== undefined ? `the ${fmtSeconds(k.deadlineS)} deadline` : '', k.budgetUsd !== undefined ? `the ${fmtUsd(k.budgetUsd)} USD budget` : ''].filter(Boolean).join(' and ') || 'the limits';
  if (!runnable.length) return `no candidate can run: ${candidates[0]?.infeasible[0] ?? 'none were found'}`;
  // Nearest: the smallest factor by which a constraint is missed.
  const miss = (c: Candidate) => Math.max(k.deadlineS !== undefined ? c.wall_s / k.deadlineS : 0, k.budgetUsd !== undefined ? c.cost_usd / Math.max(k.budgetUsd, 1e-12) : 0);
  const nearest = [...runnable].sort((a, b) => miss(a) - miss(b)).filter((c, i, all) => all.findIndex((x) => x.platform === c.platform) === i).slice(0, 3);
  return `no candidate meets ${what}; nearest: ${nearest.map(describe).join('; ')}`;
}

export function fmtSeconds(s: number): string {
  if (s < 100) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) return `${Math.round(s)} s`;
  if (s < 86_400 * 2) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(1)}x` : 'infinitely';
}
