import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyMetrics } from '../../src/metrics/accuracy.js';
import { median, sortedQuantile } from '../../src/metrics/statistics.js';

const close = (actual: number | null, expected: number, what: string, tol = 1e-12): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
};

test('accuracy metrics match hand-computed values', () => {
  // e = [0.1, -0.2, 0, 0.6]; dz = [0.1, -0.1, 0, 0.2]
  const a = accuracyMetrics([0, 1, 0.5, 2], [0.1, 0.8, 0.5, 2.6]);
  assert.equal(a.count, 4);
  close(a.mae, 0.9 / 4, 'MAE');
  close(a.mse, 0.41 / 4, 'MSE');
  close(a.biasMean, 0.05, 'mean bias');
  close(a.biasMedian, 0.05, 'median bias'); // sorted dz [-0.1, 0, 0.1, 0.2]
  close(a.sigmaNmad, 1.4826 * 0.1, 'sigma_NMAD'); // |dz - 0.05| = [0.05, 0.15, 0.05, 0.15]
  close(a.sigmaIqr, (0.125 - -0.025) / 1.349, 'sigma_IQR'); // quartiles at positions 0.75 and 2.25
  close(a.r2, 1 - 0.41 / 2.1875, 'R2'); // mean z_true 0.875
  assert.equal(a.outlierRate, 0.25); // only dz = 0.2 exceeds 0.15
  close(a.outlierThresholdRail, 3 * (0.15 / 1.349), 'RAIL cut');
  assert.equal(a.outlierRateRail, 0); // 0.2 < 3 sigma_IQR = 0.334
});

test('the RAIL outlier cut never drops below 0.06', () => {
  // dz = z_pred since z_true = 0; quartiles 0.01 and 0.03 -> 3 sigma_IQR = 0.0445 < 0.06
  const a = accuracyMetrics([0, 0, 0, 0, 0], [0, 0.01, 0.02, 0.03, 0.1]);
  close(a.sigmaIqr, 0.02 / 1.349, 'sigma_IQR', 1e-12);
  assert.equal(a.outlierThresholdRail, 0.06);
  assert.equal(a.outlierRateRail, 0.2);
  assert.equal(a.outlierRate, 0);
  close(a.biasMedian, 0.02, 'median bias');
  close(a.biasMean, 0.032, 'mean bias');
  close(a.sigmaNmad, 1.4826 * 0.01, 'sigma_NMAD'); // |dz - 0.02| sorted [0, .01, .01, .02, .08]
  assert.equal(a.r2, null, 'R2 is undefined when every z_true is equal');
});

test('a perfect prediction has zero error and R2 = 1', () => {
  const z = [0.05, 0.1, 0.3, 0.7];
  const a = accuracyMetrics(z, z);
  assert.deepEqual([a.mae, a.mse, a.biasMean, a.biasMedian, a.sigmaNmad, a.sigmaIqr, a.outlierRate, a.outlierRateRail], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(a.r2, 1);
});

test('no samples gives nulls, mismatched lengths are refused', () => {
  const a = accuracyMetrics([], []);
  assert.equal(a.count, 0);
  assert.equal(a.mae, null);
  assert.equal(a.sigmaNmad, null);
  assert.throws(() => accuracyMetrics([1, 2], [1]), /z_true has 2 values but z_pred has 1/);
});

test('median and linear quantiles', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const s = Float64Array.from([1, 2, 3, 4, 5]);
  assert.equal(sortedQuantile(s, 0.25), 2);
  assert.equal(sortedQuantile(s, 0.1), 1.4);
  assert.equal(sortedQuantile(Float64Array.from([7]), 0.75), 7);
});
