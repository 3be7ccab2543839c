// The inference benchmark: how close the end-to-end pipeline (fetch + verify + decode + batches + model)
// comes to the model alone. Both run in the same process, on the same model, batch size, threads and
// samples: (a) onnxruntime directly on pre-built input tensors, (b) inferPartitions over a synthesized data
// set on disk. The ratio (b)/(a) shows what the pipeline costs; the target is >= 0.9.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, openLocalDataset } from '../data/dataset.js';
import { IMAGE_SIZE, INPUT_BYTES_PER_SAMPLE, N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE, concatPartitions, type Partition } from '../data/partition.js';
import { synthesize } from '../data/synth/generator.js';
import type { VerifyMode } from '../data/verify-mode.js';
import { UsageError } from '../errors.js';
import { InferenceEngine, inferPartitions, type GpuCount } from '../inference/engine.js';
import { placementMetrics, type PlacementMetrics } from '../inference/metrics.js';
import { peakRssBytes } from '../util/peak-memory.js';
import { openSession } from '../inference/session.js';
import { median } from '../metrics/statistics.js';
import { describeAdapter } from '../runtime/adapters.js';
import type { DeviceChoice } from '../runtime/devices.js';
import { float32Tensor, type Feeds } from '../runtime/onnxruntime.js';

export const INFER_BENCH_TARGET_RATIO = 0.9;

export interface InferBenchOptions {
  /** Model path; default: the built-in AstroMAE model. */
  model?: string;
  samples: number;
  /** Default: the device's (engine.ts). */
  batchSize?: number;
  threads?: number;
  device?: DeviceChoice;
  /** GPUs and sessions per GPU of the engine (the raw measurement is one session on the first GPU). */
  gpus?: GpuCount;
  sessionsPerGpu?: number;
  /** Samples per partition of the synthesized data set; default 2 x batch size. */
  partitionSamples?: number;
  /** Each measurement is repeated; the best run counts (least disturbed by other load). */
  repeats?: number;
  readAhead?: number;
  verify?: VerifyMode;
  seed?: number;
  onStatus?: (text: string) => void;
}

export interface Measurement {
  /** Seconds of each repeat. */
  seconds: number[];
  bestSeconds: number;
  samplesPerS: number;
  bitsPerS: number;
}

export interface InferBenchResult {
  model: string;
  device: string;
  samples: number;
  batchSize: number;
  threads: number;
  partitions: number;
  partitionSamples: number;
  readAhead: number;
  verify: VerifyMode;
  raw: Measurement;
  endToEnd: Measurement & {
    /** Of the best repeat: time inside the model, partition load time, and load time the model waited for. */
    inferenceS: number;
    loadS: number;
    waitS: number;
    /** Share of the end-to-end wall time the model was running: what the pipeline lets the model do, robust to load from other processes. */
    modelBusy: number;
  };
  /** endToEnd.samplesPerS / raw.samplesPerS (best repeat of each) */
  ratio: number;
  /** Median over repeats of raw time / end-to-end time of the same repeat: adjacent runs see similar load from other processes. */
  pairedRatio: number;
  /** The engine's adapter, sessions and warm-up; with several sessions the pipeline can pass the one raw session. */
  placement: PlacementMetrics;
  /** Seconds of the raw session's first batch: its kernels compiled in a second process, after the engine's. */
  rawFirstBatchS: number;
  target: number;
  meetsTarget: boolean;
  peakMemoryMB: number;
}

function measurement(samples: number, seconds: number[]): Measurement {
  const best = Math.min(...seconds);
  return { seconds, bestSeconds: best, samplesPerS: samples / best, bitsPerS: (samples * INPUT_BYTES_PER_SAMPLE * 8) / best };
}

export async function runInferBench(options: InferBenchOptions): Promise<InferBenchResult> {
  const samples = options.samples;
  if (options.partitionSamples !== undefined && options.partitionSamples < 1) throw new UsageError(`--partition-samples must be at least 1`);
  if (options.readAhead !== undefined && options.readAhead < 0) throw new UsageError(`--read-ahead must be 0 or more`);
  if (!Number.isSafeInteger(samples) || samples < 1) throw new UsageError(`--samples must be a positive integer, got ${samples}`);
  if (options.batchSize !== undefined && (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1)) throw new UsageError(`--batch-size must be a positive integer, got ${options.batchSize}`);
  const threads = options.threads ?? availableParallelism();
  const repeats = options.repeats ?? 2;
  const readAhead = options.readAhead ?? 1;
  const verify = options.verify ?? 'sha256';
  if (!Number.isSafeInteger(repeats) || repeats < 1) throw new UsageError(`--repeats must be a positive integer, got ${repeats}`);
  const status = options.onStatus ?? (() => undefined);

  let model = options.model;
  if (model === undefined) {
    status('preparing the built-in model');
    const { ensureBuiltinModel } = await import('../model/builtin.js');
    model = await ensureBuiltinModel();
  }

  // Both contenders are opened and warmed first (the engine decides the device and the batch size the
  // raw session then uses), then measured alternately, so that other load on the machine affects them
  // alike; the best repeat of each counts.
  status('opening the model twice (in the engine, and alone)');
  const engine = await InferenceEngine.open(model, { batchSize: options.batchSize, threads, device: options.device ?? 'cpu', gpus: options.gpus, sessionsPerGpu: options.sessionsPerGpu });
  const batchSize = engine.batchSize;
  const partitionSamples = options.partitionSamples ?? 2 * batchSize;
  const { session, device } = await openSession(model, { device: engine.device, threads }).catch(async (err: unknown) => {
    await engine.close();
    throw err;
  });
  status(`synthesizing ${samples} samples`);
  const dir = await mkdtemp(join(tmpdir(), 'cai-bench-infer-'));
  try {
    const writer = await DatasetWriter.create(dir, { labelled: true, partitionSamples, name: 'bench-infer' });
    const parts: Partition[] = [];
    for (let start = 0; start < samples; start += partitionSamples) {
      const p = synthesize({ samples: Math.min(partitionSamples, samples - start), seed: options.seed ?? 1, startIndex: start });
      parts.push(p);
      await writer.append(p);
    }
    const manifest = await writer.finish();
    const all = parts.length === 1 ? parts[0]! : concatPartitions(parts);
    parts.length = 0;

    let rawFirstBatchS = 0;
    const rawSeconds: number[] = [];
    const e2eSeconds: number[] = [];
    let best: { inferenceMs: number; downloadMs: number; waitMs: number; wallMs: number } | undefined;
    try {
      // (a) the model alone: every batch's tensors built before the clock starts.
      const feeds: Feeds[] = [];
      for (let s = 0; s < samples; s += batchSize) {
        const e = Math.min(samples, s + batchSize);
        feeds.push({
          image: float32Tensor(all.image.subarray(s * PIXELS_PER_SAMPLE, e * PIXELS_PER_SAMPLE), [e - s, N_BANDS, IMAGE_SIZE, IMAGE_SIZE]),
          magnitude: float32Tensor(all.magnitude.subarray(s * N_BANDS, e * N_BANDS), [e - s, N_BANDS]),
        });
      }
      // Warm-up: first-run allocations and kernel selection (the engine warmed up at open on a GPU).
      const tw = performance.now();
      await session.run(feeds[0]!);
      rawFirstBatchS = (performance.now() - tw) / 1000;
      const w = Math.min(batchSize, samples);
      await engine.predict({ count: w, image: all.image.subarray(0, w * PIXELS_PER_SAMPLE), magnitude: all.magnitude.subarray(0, w * N_BANDS), objectId: all.objectId.subarray(0, w) });
      const dataset = await openLocalDataset(dir);
      for (let r = 0; r < repeats; r++) {
        status(`repeat ${r + 1}/${repeats}: onnxruntime alone`);
        let t0 = performance.now();
        for (const f of feeds) await session.run(f);
        rawSeconds.push((performance.now() - t0) / 1000);

        // (b) the pipeline: partitions read from disk, verified, decoded and predicted with read-ahead.
        status(`repeat ${r + 1}/${repeats}: end-to-end pipeline`);
        t0 = performance.now();
        const res = await inferPartitions({ dataset, engine, readAhead, verify });
        const wallMs = performance.now() - t0;
        e2eSeconds.push(wallMs / 1000);
        if (!best || wallMs < best.wallMs) best = { inferenceMs: res.inferenceMs, downloadMs: res.downloadMs, waitMs: res.waitMs, wallMs };
      }
    } finally {
      await session.release();
    }

    const raw = measurement(samples, rawSeconds);
    const e2e = measurement(samples, e2eSeconds);
    const ratio = e2e.samplesPerS / raw.samplesPerS;
    const pairedRatio = median(rawSeconds.map((r, i) => r / e2eSeconds[i]!));
    return {
      model,
      device,
      samples,
      batchSize,
      threads,
      partitions: manifest.partitions.length,
      partitionSamples,
      readAhead,
      verify,
      raw,
      endToEnd: { ...e2e, inferenceS: best!.inferenceMs / 1000, loadS: best!.downloadMs / 1000, waitS: best!.waitMs / 1000, modelBusy: best!.inferenceMs / best!.wallMs },
      ratio,
      pairedRatio,
      placement: placementMetrics(engine.layout),
      rawFirstBatchS,
      target: INFER_BENCH_TARGET_RATIO,
      meetsTarget: ratio >= INFER_BENCH_TARGET_RATIO,
      peakMemoryMB: peakRssBytes() / 1e6,
    };
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatInferBench(r: InferBenchResult): string {
  const f = (v: number): string => v.toFixed(1);
  return [
    `inference benchmark: ${r.samples} samples, batch ${r.batchSize}, ${r.threads} threads, ${r.device}; ${r.partitions} partitions of ${r.partitionSamples} (read-ahead ${r.readAhead}, verify ${r.verify})`,
    `  onnxruntime alone     ${f(r.raw.samplesPerS).padStart(10)} samples/s  ${(r.raw.bitsPerS / 1e6).toFixed(1).padStart(8)} Mbit/s   best of ${r.raw.seconds.map((s) => s.toFixed(2)).join(', ')} s`,
    `  end to end (pipeline) ${f(r.endToEnd.samplesPerS).padStart(10)} samples/s  ${(r.endToEnd.bitsPerS / 1e6).toFixed(1).padStart(8)} Mbit/s   best of ${r.endToEnd.seconds.map((s) => s.toFixed(2)).join(', ')} s`,
    `    model busy ${(r.endToEnd.modelBusy * 100).toFixed(1)}% of the wall time (model ${r.endToEnd.inferenceS.toFixed(2)} s; partition loads ${r.endToEnd.loadS.toFixed(2)} s, of which the model waited ${r.endToEnd.waitS.toFixed(2)} s)`,
    `  ratio end-to-end / raw: ${r.ratio.toFixed(3)} (target >= ${r.target}) ${r.meetsTarget ? 'ok' : 'BELOW TARGET'}; median of per-repeat ratios ${r.pairedRatio.toFixed(3)}`,
    `  peak memory ${r.peakMemoryMB.toFixed(0)} MB`,
    ...placementLines(r),
  ].join('\n');
}

/** Adapter, sessions and the first-session cost, where the device is a GPU. */
function placementLines(r: InferBenchResult): string[] {
  const p = r.placement;
  if (!p.gpus) return [];
  const where = p.adapters[0] ? describeAdapter(p.adapters[0]) : 'adapter not listed';
  const later = p.laterSessionsWarmUpS.length ? `; later sessions ${p.laterSessionsWarmUpS.map((s) => s.toFixed(1)).join(', ')} s` : '';
  return [
    `  ${where}: ${p.sessions} session(s) on ${p.gpus} GPU slot(s)`,
    `  first batch: engine's first session ${p.firstSessionWarmUpS.toFixed(1)} s (after ${p.firstSessionOpenS.toFixed(1)} s to open)${later}; raw session ${r.rawFirstBatchS.toFixed(1)} s`,
  ];
}
