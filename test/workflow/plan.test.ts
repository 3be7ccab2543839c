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

test('every partition lands on exactly one rank, deterministically, within the LPT bound', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (sizes, w) => {
      const entries = sizes.map((b, i) => entry(i, b, i + 1));
      const plan = assignPartitions(entries, w);
      assert.equal(plan.length, w);
      const seen = plan.flatMap((r) => r.partitions.map((p) => p.path)).sort();
      assert.deepEqual(seen, entries.map((e) => e.path).sort());
      assert.deepEqual(assignPartitions(entries, w), plan);
      const total = sizes.reduce((s, b) => s + b, 0);
      const lower = Math.max(total / w, ...sizes, 0);
      const max = Math.max(...plan.map((r) => r.bytes));
      assert.ok(max <= (4 / 3) * lower + 1e-9, `max load ${max} above 4/3 of the bound ${lower}`);
    }),
  );
});
