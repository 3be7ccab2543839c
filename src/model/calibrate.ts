// Calibration of the built-in model on synthetic galaxies, so that a model built without trained weights
// still predicts meaningful redshifts:
//   1. input normalization from the training set (asinh-scaled fluxes, standardized magnitudes);
//   2. BatchNorm running statistics of the Inception branch, block by block;
//   3. the head, fitted by ridge regression on the frozen 3216 features: one ridge regressor per branch
//      (ViT, Inception, magnitudes), written as ReLU pairs relu(p) - relu(-p) = p into head.0, and their
//      stacking weights into head.2. The other hidden units of head.0 are switched off (zero weights).
// Every heavy step (features, Gram matrices) runs in onnxruntime; the solves are Cholesky in float64.
import { synthesize } from '../data/synth/generator.js';
import type { Partition } from '../data/partition.js';
import { accuracyMetrics, type AccuracyMetrics } from '../metrics/accuracy.js';
import { median } from '../metrics/statistics.js';
import { float32Tensor } from '../runtime/onnxruntime.js';
import { buildAstroMAEGraph, foldBatchNorm, serializeAstroMAE, type Normalization } from './astromae.js';
import { ridgeSolve } from './linalg.js';
import { createSession, gramMatrix, runOverPartition } from './ort-run.js';
import { ARCH, INCEPTION_BLOCKS, blockConvs, seededWeights, type Weights } from './params.js';

export interface CalibrationOptions {
  /** Seed of the random (frozen) weights. Default 0. */
  seed?: number;
  /** Training galaxies. Default 4096. */
  trainSamples?: number;
  /** Held-out galaxies for the reported metrics. Default 2048. */
  heldOutSamples?: number;
  /** Seed of the synthetic training set; the held-out set uses dataSeed + 1. Default 1000. */
  dataSeed?: number;
  /** Galaxies used for BatchNorm statistics (the first ones of the training set). Default 512. */
  batchNormSamples?: number;
  /** Ridge penalty relative to the mean diagonal of each Gram matrix. Default 0.01. */
  ridge?: number;
  threads?: number;
  /** Extra ONNX metadata_props for the built model. */
  metadata?: Record<string, string>;
  /** Stage reports: 'synth', 'normalization', 'batchnorm', 'features', 'fit', 'held-out'. */
  onProgress?: (stage: CalibrationStage, detail: string) => void;
}

export type CalibrationStage = 'synth' | 'normalization' | 'batchnorm' | 'features' | 'fit' | 'held-out';

export interface CalibrationReport {
  seed: number;
  dataSeed: number;
  heldOutSeed: number;
  trainSamples: number;
  heldOutSamples: number;
  ridge: number;
  /** Held-out accuracy of the final model, run end to end by onnxruntime. */
  heldOut: AccuracyMetrics;
  /** Held-out sigma_NMAD of each branch's own regressor, before stacking. */
  branchSigmaNmad: { vit: number; inception: number; magnitude: number };
  /** Stacking weights of the branch regressors in the head. */
  stackWeights: { vit: number; inception: number; magnitude: number };
  seconds: Record<CalibrationStage, number>;
}

export interface CalibratedModel {
  weights: Weights;
  normalization: Normalization;
  report: CalibrationReport;
  /** The serialized calibrated model. */
  bytes: Uint8Array;
}

const BAND_PIXELS = ARCH.imageSize * ARCH.imageSize;

/**
 * Input normalization from training data. The asinh softening per band is the sky noise (1.4826 MAD of
 * pixel values; cutouts are mostly sky), so faint pixels stay linear and bright ones are compressed.
 */
export function fitNormalization(data: Partition): Normalization {
  const n = data.count;
  const imageScale: number[] = [];
  const imageMean: number[] = [];
  const imageStd: number[] = [];
  const magnitudeMean: number[] = [];
  const magnitudeStd: number[] = [];
  const stride = 7;
  const sampleCount = Math.min(n, 512);
  for (let b = 0; b < ARCH.bands; b++) {
    const vals = new Float64Array(sampleCount * Math.ceil(BAND_PIXELS / stride));
    let k = 0;
    for (let i = 0; i < sampleCount; i++) for (let p = 0; p < BAND_PIXELS; p += stride) vals[k++] = data.image[(i * ARCH.bands + b) * BAND_PIXELS + p]!;
    const v = vals.subarray(0, k);
    const med = median(v);
    const mad = median(v.map((x) => Math.abs(x - med)));
    const sigma = 1.4826 * mad > 0 ? 1.4826 * mad : 1;
    imageScale.push(1 / sigma);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * ARCH.bands + b) * BAND_PIXELS;
      for (let p = 0; p < BAND_PIXELS; p++) {
        const t = Math.asinh(data.image[base + p]! / sigma);
        s += t;
        s2 += t * t;
      }
    }
    const cnt = n * BAND_PIXELS;
    imageMean.push(s / cnt);
    imageStd.push(Math.sqrt(Math.max(s2 / cnt - (s / cnt) ** 2, 1e-12)));
    let m = 0;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      const x = data.magnitude[i * ARCH.bands + b]!;
      m += x;
      m2 += x * x;
    }
    magnitudeMean.push(m / n);
    magnitudeStd.push(Math.sqrt(Math.max(m2 / n - (m / n) ** 2, 1e-12)));
  }
  return { imageTransform: 'asinh', imageScale, imageMean, imageStd, magnitudeMean, magnitudeStd };
}

/** Per-channel mean and variance of an NCHW tensor. */
function channelStats(t: Float32Array, n: number, c: number, hw: number): { mean: Float32Array; variance: Float32Array } {
  const mean = new Float32Array(c);
  const variance = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * hw;
      for (let p = 0; p < hw; p++) {
        const v = t[base + p]!;
        s += v;
        s2 += v * v;
      }
    }
    const m = s / (n * hw);
    mean[ch] = m;
    variance[ch] = Math.max(s2 / (n * hw) - m * m, 0);
  }
  return { mean, variance };
}

/**
 * Set the BatchNorm running statistics of every Inception conv from `data`, in dependency order: a block's
 * 1x1 convs first (they read the block input), then its 3x3/5x5 convs (they read the 1x1 outputs).
 */
export async function calibrateBatchNorm(w: Weights, norm: Normalization, data: Partition, threads?: number, onStep?: (done: number, total: number) => void): Promise<void> {
  const stages: string[][] = [];
  INCEPTION_BLOCKS.forEach((b, j) => {
    const convs = blockConvs(b).map((c) => c.name);
    stages.push(convs.filter((c) => c !== 'b2' && c !== 'b3').map((c) => `inception.blocks.${j}.${c}`));
    stages.push(convs.filter((c) => c === 'b2' || c === 'b3').map((c) => `inception.blocks.${j}.${c}`));
  });
  const eps = ARCH.bnEps;
  // One graph for all stages; each stage refreshes the folded conv initializers it changes.
  const { graph, tensors } = buildAstroMAEGraph(w, norm);
  const refold = (p: string): void => {
    const f = foldBatchNorm(w, p);
    const names = tensors.convParams.get(p)!;
    graph.setInitializer(names.weight, f.weight);
    graph.setInitializer(names.bias, f.bias);
  };
  const image = float32Tensor(data.image.subarray(0, data.count * ARCH.bands * BAND_PIXELS), [data.count, ARCH.bands, ARCH.imageSize, ARCH.imageSize]);
  let step = 0;
  for (const stage of stages) {
    // Identity statistics for the convs being measured, so the probe sees the raw convolution (scaled by 1/sqrt(1+eps)).
    for (const p of stage) {
      w.get(`${p}.bn.weight`)!.fill(1);
      w.get(`${p}.bn.bias`)!.fill(0);
      w.get(`${p}.bn.running_mean`)!.fill(0);
      w.get(`${p}.bn.running_var`)!.fill(1);
      refold(p);
    }
    const outputs = stage.map((p) => ({ name: tensors.convOutputs.get(p)!, dims: ['N', w.get(`${p}.bn.weight`)!.length, '?', '?'] as (string | number)[] }));
    const session = await createSession(graph.serialize({ outputs, producerName: 'cai-calibration', producerVersion: '1' }), threads);
    try {
      const out = await session.run({ image }, outputs.map((o) => o.name));
      stage.forEach((p, k) => {
        const t = out[outputs[k]!.name]!;
        const [n, c, h, wd] = t.dims as number[];
        const { mean, variance } = channelStats(t.data as Float32Array, n!, c!, h! * wd!);
        const scale = Math.sqrt(1 + eps);
        const rm = w.get(`${p}.bn.running_mean`)!;
        const rv = w.get(`${p}.bn.running_var`)!;
        for (let ch = 0; ch < c!; ch++) {
          rm[ch] = mean[ch]! * scale;
          rv[ch] = variance[ch]! * (1 + eps);
        }
        t.dispose();
        refold(p);
      });
    } finally {
      await session.release();
    }
    onStep?.(++step, stages.length);
  }
}

/** Columns [from, to) of a row-major [n, d] matrix, standardized with the given per-column mean and std. */
function standardizedBlock(x: Float32Array, n: number, d: number, from: number, to: number, mean: Float64Array, std: Float64Array): Float32Array {
  const w = to - from;
  const out = new Float32Array(n * w);
  for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) out[i * w + j] = (x[i * d + from + j]! - mean[from + j]!) / std[from + j]!;
  return out;
}

const BRANCHES = [
  { key: 'vit', from: 0, to: ARCH.branchFeatures },
  { key: 'inception', from: ARCH.branchFeatures, to: 2 * ARCH.branchFeatures },
  { key: 'magnitude', from: 2 * ARCH.branchFeatures, to: ARCH.features },
] as const;

/**
 * Fit the head on features [n, 3216] and targets; writes head.0 / head.2 into `w`.
 * Returns each branch regressor's direction for diagnostics and the stacking weights.
 */
export async function fitHead(
  w: Weights,
  features: Float32Array,
  target: Float32Array,
  n: number,
  ridge: number,
  threads?: number,
): Promise<{ stack: number[]; predictBranches: (f: Float32Array, m: number) => Float32Array[] }> {
  const d = ARCH.features;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += features[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[j]! += (features[i * d + j]! - mean[j]!) ** 2;
  // A constant feature carries nothing; a unit scale keeps it harmless.
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]! / n) || 1;
  let zMean = 0;
  for (let i = 0; i < n; i++) zMean += target[i]!;
  zMean /= n;
  const yc = Float32Array.from(target, (v) => v - zMean);

  // Per branch: ridge direction u (in standardized coordinates) with mean-zero in-sample prediction.
  const directions: Float64Array[] = [];
  const preds: Float32Array[] = [];
  for (const b of BRANCHES) {
    const width = b.to - b.from;
    const x = standardizedBlock(features, n, d, b.from, b.to, mean, std);
    const { gram, rhs } = await gramMatrix(x, yc, n, width, threads);
    let trace = 0;
    for (let i = 0; i < width; i++) trace += gram[i * width + i]!;
    const u = ridgeSolve(gram, rhs, width, (ridge * trace) / width);
    directions.push(u);
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < width; j++) s += u[j]! * x[i * width + j]!;
      p[i] = s;
    }
    preds.push(p);
  }
  // Stacking: least squares of the centred target on the three branch predictions (tiny ridge for safety).
  const k = BRANCHES.length;
  const g = new Float64Array(k * k);
  const r = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < k; a++) {
      r[a]! += preds[a]![i]! * yc[i]!;
      for (let c = 0; c < k; c++) g[a * k + c]! += preds[a]![i]! * preds[c]![i]!;
    }
  }
  let tr = 0;
  for (let a = 0; a < k; a++) tr += g[a * k + a]!;
  const stack = Array.from(ridgeSolve(g, r, k, (1e-6 * tr) / k));

  // head.0: rows 2b and 2b+1 compute +p_b and -p_b from raw features (standardization folded in).
  const w0 = w.get('head.0.weight')!.fill(0);
  const b0 = w.get('head.0.bias')!.fill(0);
  BRANCHES.forEach((br, bi) => {
    const u = directions[bi]!;
    let offset = 0;
    for (let j = 0; j < br.to - br.from; j++) {
      const col = br.from + j;
      const coef = u[j]! / std[col]!;
      w0[2 * bi * d + col] = coef;
      w0[(2 * bi + 1) * d + col] = -coef;
      offset += coef * mean[col]!;
    }
    b0[2 * bi] = -offset;
    b0[2 * bi + 1] = offset;
  });
  // head.2: z = zMean + sum_b stack_b (relu(p_b) - relu(-p_b)).
  const w2 = w.get('head.2.weight')!.fill(0);
  stack.forEach((s, bi) => {
    w2[2 * bi] = s;
    w2[2 * bi + 1] = -s;
  });
  w.get('head.2.bias')![0] = zMean;

  const predictBranches = (f: Float32Array, m: number): Float32Array[] =>
    BRANCHES.map((br, bi) => {
      const x = standardizedBlock(f, m, d, br.from, br.to, mean, std);
      const u = directions[bi]!;
      const width = br.to - br.from;
      const p = new Float32Array(m);
      for (let i = 0; i < m; i++) {
        let s = zMean;
        for (let j = 0; j < width; j++) s += u[j]! * x[i * width + j]!;
        p[i] = s;
      }
      return p;
    });
  return { stack, predictBranches };
}

/** Build the calibrated built-in model from seeded weights and synthetic training data. */
export async function calibrateAstroMAE(opts: CalibrationOptions = {}): Promise<CalibratedModel> {
  const seed = opts.seed ?? 0;
  const trainSamples = opts.trainSamples ?? 4096;
  const heldOutSamples = opts.heldOutSamples ?? 2048;
  const dataSeed = opts.dataSeed ?? 1000;
  const heldOutSeed = dataSeed + 1;
  const ridge = opts.ridge ?? 0.01;
  const report = opts.onProgress ?? (() => {});
  const seconds = {} as Record<CalibrationStage, number>;
  let t0 = performance.now();
  const lap = (stage: CalibrationStage): void => {
    const now = performance.now();
    seconds[stage] = (now - t0) / 1000;
    t0 = now;
  };

  report('synth', `${trainSamples} training galaxies (seed ${dataSeed})`);
  const train = synthesize({ samples: trainSamples, seed: dataSeed });
  lap('synth');

  report('normalization', 'fitting input scaling');
  const normalization = fitNormalization(train);
  lap('normalization');

  const w = seededWeights(seed);
  const bnCount = Math.min(opts.batchNormSamples ?? 512, trainSamples);
  await calibrateBatchNorm(w, normalization, { ...train, count: bnCount, image: train.image.subarray(0, bnCount * ARCH.bands * BAND_PIXELS) }, opts.threads, (done, total) =>
    report('batchnorm', `BatchNorm statistics ${done}/${total}`),
  );
  lap('batchnorm');

  const { graph, tensors } = buildAstroMAEGraph(w, normalization);
  const featureSession = await createSession(graph.serialize({ outputs: [{ name: tensors.features, dims: ['N', ARCH.features] }], producerName: 'cai-calibration', producerVersion: '1' }), opts.threads);
  let features: Float32Array;
  try {
    [features] = (await runOverPartition(featureSession, train, [{ name: tensors.features, width: ARCH.features }], {
      onBatch: (done) => report('features', `features ${done}/${trainSamples}`),
    })) as [Float32Array];
  } finally {
    await featureSession.release();
  }
  lap('features');

  report('fit', 'ridge regression of the head');
  const { stack, predictBranches } = await fitHead(w, features, train.redshift!, trainSamples, ridge, opts.threads);
  lap('fit');

  report('held-out', `${heldOutSamples} held-out galaxies (seed ${heldOutSeed})`);
  const heldOut = synthesize({ samples: heldOutSamples, seed: heldOutSeed });
  const { graph: finalGraph, tensors: finalTensors } = buildAstroMAEGraph(w, normalization);
  const probe = await createSession(
    finalGraph.serialize({ outputs: [{ name: finalTensors.redshift, dims: ['N', 1] }, { name: finalTensors.features, dims: ['N', ARCH.features] }], producerName: 'cai-calibration', producerVersion: '1' }),
    opts.threads,
  );
  let pred: Float32Array;
  let heldFeatures: Float32Array;
  try {
    [pred, heldFeatures] = (await runOverPartition(probe, heldOut, [{ name: finalTensors.redshift, width: 1 }, { name: finalTensors.features, width: ARCH.features }], {
      onBatch: (done) => report('held-out', `held-out ${done}/${heldOutSamples}`),
    })) as [Float32Array, Float32Array];
  } finally {
    await probe.release();
  }
  const metrics = accuracyMetrics(heldOut.redshift!, pred);
  const branchPred = predictBranches(heldFeatures, heldOutSamples);
  const nmad = (p: Float32Array): number => accuracyMetrics(heldOut.redshift!, p).sigmaNmad ?? NaN;
  lap('held-out');

  const calibration: CalibrationReport = {
    seed,
    dataSeed,
    heldOutSeed,
    trainSamples,
    heldOutSamples,
    ridge,
    heldOut: metrics,
    branchSigmaNmad: { vit: nmad(branchPred[0]!), inception: nmad(branchPred[1]!), magnitude: nmad(branchPred[2]!) },
    stackWeights: { vit: stack[0]!, inception: stack[1]!, magnitude: stack[2]! },
    seconds,
  };
  const bytes = serializeAstroMAE(finalGraph, normalization, { ...calibrationMetadata(calibration), ...opts.metadata });
  return { weights: w, normalization, report: calibration, bytes };
}

/** ONNX metadata_props of a calibrated model. */
export function calibrationMetadata(r: CalibrationReport): Record<string, string> {
  const m = r.heldOut;
  return {
    weights: 'seeded+calibrated',
    seed: String(r.seed),
    calibration: JSON.stringify({
      data: 'cai-synth',
      trainSeed: r.dataSeed,
      trainSamples: r.trainSamples,
      heldOutSeed: r.heldOutSeed,
      heldOutSamples: r.heldOutSamples,
      ridge: r.ridge,
      sigmaNmad: m.sigmaNmad,
      outlierRate: m.outlierRate,
      biasMean: m.biasMean,
      branchSigmaNmad: r.branchSigmaNmad,
      stackWeights: r.stackWeights,
    }),
  };
}
