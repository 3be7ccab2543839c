// Accuracy of redshift predictions against spectroscopic truth: the photo-z metrics a report, the
// summary of a run and the calibration of the built-in model all quote. Pure: arrays in, numbers out.
// dz = (z_pred - z_true) / (1 + z_true) is the normalised residual used throughout photo-z work.
import { sortedMedian, sortedQuantile } from './statistics.js';

/** |dz| above this counts as a catastrophic outlier (the conventional photo-z cut). */
export const OUTLIER_DZ = 0.15;
/** LSST RAIL: |dz| > max(RAIL_OUTLIER_FLOOR, 3 sigma_IQR). */
export const RAIL_OUTLIER_FLOOR = 0.06;
const NMAD_SCALE = 1.4826;
const IQR_TO_SIGMA = 1.349;

export interface AccuracyMetrics {
  count: number;
  /** mean |z_pred - z_true| */
  mae: number | null;
  /** mean (z_pred - z_true)^2 */
  mse: number | null;
  /** mean of dz */
  biasMean: number | null;
  /** median of dz */
  biasMedian: number | null;
  /** 1.4826 x median(|dz - median(dz)|) */
  sigmaNmad: number | null;
  /** IQR(dz) / 1.349, quartiles interpolated linearly (numpy's default) */
  sigmaIqr: number | null;
  /** 1 - SS_res/SS_tot; null when every z_true is equal */
  r2: number | null;
  /** fraction with |dz| > 0.15 */
  outlierRate: number | null;
  /** fraction with |dz| > max(0.06, 3 sigma_IQR) (LSST RAIL) */
  outlierRateRail: number | null;
  /** the RAIL cut actually applied */
  outlierThresholdRail: number | null;
}

/** All accuracy metrics; null where a metric is undefined (no samples, constant truth). */
export function accuracyMetrics(zTrue: ArrayLike<number>, zPred: ArrayLike<number>): AccuracyMetrics {
  if (zTrue.length !== zPred.length) throw new RangeError(`z_true has ${zTrue.length} values but z_pred has ${zPred.length}`);
  const n = zTrue.length;
  if (n === 0) {
    return { count: 0, mae: null, mse: null, biasMean: null, biasMedian: null, sigmaNmad: null, sigmaIqr: null, r2: null, outlierRate: null, outlierRateRail: null, outlierThresholdRail: null };
  }
  const dz = new Float64Array(n);
  let absSum = 0;
  let sqSum = 0;
  let dzSum = 0;
  let trueSum = 0;
  for (let i = 0; i < n; i++) {
    const t = zTrue[i]!;
    const e = zPred[i]! - t;
    absSum += Math.abs(e);
    sqSum += e * e;
    trueSum += t;
    dz[i] = e / (1 + t);
    dzSum += dz[i]!;
  }
  const trueMean = trueSum / n;
  let ssTot = 0;
  for (let i = 0; i < n; i++) ssTot += (zTrue[i]! - trueMean) ** 2;

  const sorted = Float64Array.from(dz).sort();
  const med = sortedMedian(sorted);
  const absDev = new Float64Array(n);
  for (let i = 0; i < n; i++) absDev[i] = Math.abs(dz[i]! - med);
  const sigmaNmad = NMAD_SCALE * sortedMedian(absDev.sort());
  const sigmaIqr = (sortedQuantile(sorted, 0.75) - sortedQuantile(sorted, 0.25)) / IQR_TO_SIGMA;
  const railCut = Math.max(RAIL_OUTLIER_FLOOR, 3 * sigmaIqr);
  let outliers = 0;
  let railOutliers = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(dz[i]!);
    if (a > OUTLIER_DZ) outliers++;
    if (a > railCut) railOutliers++;
  }
  return {
    count: n,
    mae: absSum / n,
    mse: sqSum / n,
    biasMean: dzSum / n,
    biasMedian: med,
    sigmaNmad,
    sigmaIqr,
    r2: ssTot > 0 ? 1 - sqSum / ssTot : null,
    outlierRate: outliers / n,
    outlierRateRail: railOutliers / n,
    outlierThresholdRail: railCut,
  };
}
