import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dominates, paretoFlags, type Point } from '../../src/planner/pareto.js';

const point = fc.record({
  // Few distinct values so that ties in time, in cost and in both are common.
  wall_s: fc.integer({ min: 1, max: 12 }).map((x) => x * 2.5),
  cost_usd: fc.integer({ min: 0, max: 12 }).map((x) => x / 4),
  feasible: fc.boolean(),
});

test('the front is exactly the feasible points nothing dominates (property, against the definition)', () => {
  fc.assert(
    fc.property(fc.array(point, { maxLength: 60 }), (pts: Point[]) => {
      const flags = paretoFlags(pts);
      pts.forEach((p, i) => {
        const dominated = pts.some((q) => q.feasible && dominates(q, p));
        assert.equal(flags[i], p.feasible && !dominated);
      });
    }),
    { numRuns: 500, seed: 8 },
  );
});

test('equal points are both on the front; a faster equal-cost point pushes the slower off', () => {
  const pts: Point[] = [
    { wall_s: 10, cost_usd: 1, feasible: true },
    { wall_s: 10, cost_usd: 1, feasible: true },
    { wall_s: 20, cost_usd: 1, feasible: true },
    { wall_s: 5, cost_usd: 9, feasible: false },
  ];
  assert.deepEqual(paretoFlags(pts), [true, true, false, false]);
});
