import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../../src/errors.js';
import { DEFAULT_PROFILE, parseProfile, perSampleSeconds, profileSchema, threadCurve, type Profile } from '../../src/planner/profile.js';

const measured = (points: Profile['throughput']): Profile => ({ ...DEFAULT_PROFILE, isDefault: false, label: 'test machine', throughput: points });

test('the built-in profile is valid, labelled a default, and states where its figures come from', () => {
  const p = profileSchema.parse(DEFAULT_PROFILE);
  assert.equal(p.isDefault, true);
  assert.match(p.label, /^default/);
  assert.match(p.source, /cai bench workflow/);
  assert.match(p.source, /cai bench infer/);
  // Its two points: 421 samples/s on one thread, 700.5 on two.
  assert.ok(Math.abs(1 / perSampleSeconds(p, 1) - 421) < 1e-6);
  assert.ok(Math.abs(1 / perSampleSeconds(p, 2) - 700.5) < 1e-6);
});

test('thread scaling follows the Amdahl fit of the measured points', () => {
  // t(n) = 4 ms x (0.25 + 0.75 / n), measured at 1, 2 and 4 threads.
  const t = (n: number) => 0.004 * (0.25 + 0.75 / n);
  const p = measured([1, 2, 4].map((threads) => ({ threads, batchSize: 256, samplesPerS: 1 / t(threads) })));
  const c = threadCurve(p, 256);
  assert.ok(Math.abs(c.t1 - 0.004) < 1e-12 && Math.abs(c.serial - 0.25) < 1e-9);
  assert.ok(Math.abs(perSampleSeconds(p, 8) - t(8)) < 1e-12, 'extrapolates along the curve');
  // Below one vCPU (a Lambda function under 1,769 MB) time grows as 1 / share.
  assert.ok(Math.abs(perSampleSeconds(p, 0.5) - 0.008) < 1e-12);
  // The nearest measured batch size is used.
  const two = measured([
    { threads: 1, batchSize: 64, samplesPerS: 100 },
    { threads: 1, batchSize: 512, samplesPerS: 300 },
  ]);
  assert.equal(threadCurve(two, 96).batchSize, 64);
  assert.equal(threadCurve(two).batchSize, 512);
  assert.throws(() => perSampleSeconds(p, 0), /threads must be a positive number/);
});

test('a bad profile is one line naming the file and the field', () => {
  const ok = JSON.stringify(DEFAULT_PROFILE);
  assert.equal(parseProfile(ok, 'p.json').label, DEFAULT_PROFILE.label);
  assert.throws(() => parseProfile('{', 'p.json'), (e: unknown) => e instanceof DataError && /p\.json: not valid JSON/.test(e.message));
  const bad = JSON.parse(ok);
  bad.throughput[0].samplesPerS = -1;
  assert.throws(() => parseProfile(JSON.stringify(bad), 'p.json'), /p\.json: invalid profile at throughput\.0\.samplesPerS/);
  const dup = JSON.parse(ok);
  dup.throughput.push({ ...dup.throughput[0] });
  assert.throws(() => parseProfile(JSON.stringify(dup), 'p.json'), /appears twice/);
  const extra = { ...JSON.parse(ok), secret: 1 };
  assert.throws(() => parseProfile(JSON.stringify(extra), 'p.json'), /invalid profile/);
  assert.throws(() => parseProfile(' '.repeat((1 << 20) + 1), 'big.json'), /big\.json: profile is \d+ bytes/);
});
