// The Pareto front of wall time against cost: a candidate is on it when no other feasible candidate is at
// least as fast and at least as cheap, and strictly better in one of the two.

export interface Point {
  wall_s: number;
  cost_usd: number;
  feasible: boolean;
}

/** For each point, whether it is on the front (infeasible points never are). O(n log n). */
export function paretoFlags(points: readonly Point[]): boolean[] {
  const order = points
    .map((p, i) => i)
    .filter((i) => points[i].feasible)
    .sort((a, b) => points[a].wall_s - points[b].wall_s || points[a].cost_usd - points[b].cost_usd);
  const flags = points.map(() => false);
  let minCost = Infinity;
  let minCostWall = Infinity;
  for (const i of order) {
    const p = points[i];
    // Everything before p is at least as fast. It dominates p when it is cheaper, or as cheap and faster.
    if (p.cost_usd < minCost) {
      minCost = p.cost_usd;
      minCostWall = p.wall_s;
      flags[i] = true;
    } else if (p.cost_usd === minCost && p.wall_s === minCostWall) {
      flags[i] = true;
    }
  }
  return flags;
}

/** Whether a dominates b. */
export function dominates(a: Point, b: Point): boolean {
  return a.wall_s <= b.wall_s && a.cost_usd <= b.cost_usd && (a.wall_s < b.wall_s || a.cost_usd < b.cost_usd);
}
