// Accuracy and performance metrics of a redshift inference run. Pure: arrays and numbers in, numbers out.
// dz = (z_pred - z_true) / (1 + z_true) is the normalised residual used throughout photo-z work.
import { INPUT_BYTES_PER_SAMPLE } from '../data/manifest.js';
import { peakRssBytes } from '../util/peak-memory.js';

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

/** Median of an already sorted array. */
function sortedMedian(s: Float64Array): number {
  const n = s.length;
  const h = n >> 1;
  return n % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Quantile q of a sorted array with linear interpolation between order statistics (numpy 'linear'). */
export function sortedQuantile(s: Float64Array, q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(values: ArrayLike<number>): number {
  return sortedMedian(Float64Array.from(values).sort());
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

export interface PerformanceInput {
  samples: number;
  batches: number;
  batchSize: number;
  device: string;
  /** Time spent running the model (sum over batches). */
  inferenceMs: number;
  /** Wall-clock time of the whole run, I/O included. */
  wallMs: number;
  /** Time spent fetching, verifying and decoding partitions (may overlap inference). */
  ioMs?: number;
  /** Peak resident set size in bytes; defaults to this process's. */
  peakMemoryBytes?: number;
}

/**
 * Performance with the meanings of the original CAI fields: total model time, time per batch as
 * total / (samples / batch size), throughput in bits/s of model input, samples/s, peak memory.
 */
export interface PerformanceMetrics {
  device: string;
  batchSize: number;
  numBatches: number;
  samples: number;
  /** bytes of model input (20,500 per sample) */
  inputBytes: number;
  /** CAI "total_cpu_time (seconds)": model execution time */
  totalTimeS: number;
  /** CAI "execution_time (seconds/batch)" */
  timePerBatchS: number | null;
  /** CAI "throughput_bps": bits of model input per second of model time */
  throughputBps: number | null;
  /** CAI "sample_persec" */
  samplesPerS: number | null;
  /** whole run, I/O included */
  wallTimeS: number;
  /** samples per second of wall time */
  endToEndSamplesPerS: number | null;
  ioTimeS: number | null;
  /** peak resident memory of the process, MB (10^6 bytes) */
  peakMemoryMB: number;
}

/** Peak resident memory of this process (the one helper in util/, exported here for the metrics' users). */
export { peakRssBytes };

const rate = (amount: number, seconds: number): number | null => (seconds > 0 ? amount / seconds : null);

export function performanceMetrics(p: PerformanceInput): PerformanceMetrics {
  const totalTimeS = p.inferenceMs / 1000;
  const inputBytes = p.samples * INPUT_BYTES_PER_SAMPLE;
  const wallTimeS = p.wallMs / 1000;
  return {
    device: p.device,
    batchSize: p.batchSize,
    numBatches: p.batches,
    samples: p.samples,
    inputBytes,
    totalTimeS,
    timePerBatchS: p.samples > 0 && p.batchSize > 0 ? totalTimeS / (p.samples / p.batchSize) : null,
    throughputBps: rate(inputBytes * 8, totalTimeS),
    samplesPerS: rate(p.samples, totalTimeS),
    wallTimeS,
    endToEndSamplesPerS: rate(p.samples, wallTimeS),
    ioTimeS: p.ioMs === undefined ? null : p.ioMs / 1000,
    peakMemoryMB: (p.peakMemoryBytes ?? peakRssBytes()) / 1e6,
  };
}

/** The same figures under the field names of the original CAI result JSON, for side-by-side comparison. */
export function caiFields(m: PerformanceMetrics): Record<string, number | string | null> {
  return {
    'total_cpu_time (seconds)': m.totalTimeS,
    'total_cpu_memory (MB)': m.peakMemoryMB,
    'execution_time (seconds/batch)': m.timePerBatchS,
    num_batches: m.numBatches,
    batch_size: m.batchSize,
    device: m.device,
    throughput_bps: m.throughputBps,
    sample_persec: m.samplesPerS,
  };
}
