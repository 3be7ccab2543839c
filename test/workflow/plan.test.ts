import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assignPartitions } from '../../src/workflow/plan.js';
import type { PartitionEntry } from '../../src/data/manifest.js';

const entry = (i: number, bytes: number, samples = 1): PartitionEntry => ({ path: `partitions/part-${String(i).padStart(5, '0')}.safetensors`, samples, bytes, sha256: '0'.repeat(64) });

test('largest-first onto the lightest rank; manifest order within a rank', () => {
  const entries = [entry(0, 10), entry(1, 70), entry(2, 30), entry(3, 40), entry(4, 20)];
  const plan = assignPartitions(entries, 2);
  // 70 -> r0; 40 -> r1; 30 -> r1 (40 < 70); 20 -> r0 (70 = 70, the lower rank wins ties); 10 -> r1.
  assert.deepEqual(
    plan.map((r) => [r.rank, r.partitions.map((p) => p.path.slice(-17, -12)), r.bytes]),
    [
      [0, ['00001', '00004'], 90],
      [1, ['00000', '00002', '00003'], 80],
    ],
  );
});

test('more ranks than partitions leaves empty ranks', () => {
  const plan = assignPartitions([entry(0, 5, 3), entry(1, 5, 4)], 4);
  assert.deepEqual(plan.map((r) => r.samples), [3, 4, 0, 0]);
  assert.deepEqual(plan.map((r) => r.partitions.length), [1, 1, 0, 0]);
});

/** The best possible slowest-rank load, by exhaustive search (small instances only). */
function optimalMakespan(sizes: number[], w: number): number {
  const order = [...sizes].sort((a, b) => b - a);
  const loads = new Array<number>(w).fill(0);
  let best = Infinity;
  const place = (i: number, max: number): void => {
    if (max >= best) return;
    if (i === order.length) {
      best = max;
      return;
    }
    const seen = new Set<number>();
    for (let r = 0; r < w; r++) {
      // Ranks with equal loads are interchangeable: try one of them.
      if (seen.has(loads[r]!)) continue;
      seen.add(loads[r]!);
      loads[r]! += order[i]!;
      place(i + 1, Math.max(max, loads[r]!));
      loads[r]! -= order[i]!;
    }
  };
  place(0, 0);
  return best;
}

test('every partition lands on exactly one rank, deterministically, within the list-scheduling bound', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (sizes, w) => {
      const entries = sizes.map((b, i) => entry(i, b, i + 1));
      const plan = assignPartitions(entries, w);
      assert.equal(plan.length, w);
      const seen = plan.flatMap((r) => r.partitions.map((p) => p.path)).sort();
      assert.deepEqual(seen, entries.map((e) => e.path).sort());
      assert.deepEqual(assignPartitions(entries, w), plan);
      // Any greedy assignment: the slowest rank exceeds the average by less than one partition.
      const total = sizes.reduce((s, b) => s + b, 0);
      const max = Math.max(...plan.map((r) => r.bytes));
      assert.ok(max <= total / w + (1 - 1 / w) * Math.max(0, ...sizes) + 1e-6, `max load ${max} above the list-scheduling bound`);
    }),
  );
});

test('largest-first stays within 4/3 - 1/(3W) of the best possible assignment', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 9 }), fc.integer({ min: 1, max: 4 }), (sizes, w) => {
      const plan = assignPartitions(sizes.map((b, i) => entry(i, b)), w);
      const max = Math.max(...plan.map((r) => r.bytes));
      const opt = optimalMakespan(sizes, w);
      assert.ok(max <= (4 / 3 - 1 / (3 * w)) * opt + 1e-6, `max load ${max} above the LPT bound of the optimum ${opt}`);
    }),
    { numRuns: 300 },
  );
  // The case a bound on the average alone gets wrong: 4 partitions on 3 ranks, optimum = largest-first.
  const sizes = [402_519, 670_864, 670_864, 670_864];
  assert.equal(Math.max(...assignPartitions(sizes.map((b, i) => entry(i, b)), 3).map((r) => r.bytes)), optimalMakespan(sizes, 3));
});
