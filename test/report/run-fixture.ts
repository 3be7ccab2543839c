// Builds a finished run's files the way the workflow writes them (typed against the run contracts), from
// seeded synthetic redshifts: summary.json, predictions.csv, rank-NNNNN.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accuracyMetrics } from '../../src/metrics/accuracy.js';
import { writePredictionsCsv } from '../../src/inference/predictions.js';
import { lambdaRunCost } from '../../src/cost/lambda-cost.js';
import type { RankResult, Summary } from '../../src/workflow/contracts.js';
import type { HtmlRank } from '../../src/report/html.js';
import type { Prediction } from '../../src/planner/prediction.js';

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function redshifts(n: number, seed: number): { zTrue: Float32Array; zPred: Float32Array } {
  const r = seeded(seed);
  const zTrue = new Float32Array(n);
  const zPred = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    zTrue[i] = 0.02 + 0.6 * r() * r();
    zPred[i] = zTrue[i] + (r() + r() + r() - 1.5) * 0.03 * (1 + zTrue[i]);
  }
  return { zTrue, zPred };
}

export interface Fixture {
  summary: Summary;
  ranks: HtmlRank[];
  rankResults: RankResult[];
  zTrue?: Float32Array;
  zPred: Float32Array;
}

/** A run of `n` samples over `world` ranks; `failed` ranks have no result file. */
export interface RunOptions {
  labelled?: boolean;
  failed?: number[];
  seed?: number;
  /** Whole-run wall time (default 11 s). */
  wallTimeS?: number;
  /** What the planner predicted, as a planned run records it. */
  prediction?: Prediction;
  runId?: string;
}

/** A prediction as `cai plan` records it (planner/prediction.ts). */
export function plannedPrediction(wallS: number, costUsd: number): Prediction {
  return {
    wall_s: wallS,
    cost_usd: costUsd,
    platform: 'lambda',
    settings: { memoryMB: 3008, partitionMB: 25, worldSize: 8, concurrency: 8, batchSize: 256 },
    wallParts: { orchestration: 1.5, ranks: wallS - 1.5 },
    basedOn: { profile: { label: 'fixture profile', measuredAt: '2026-11-26', isDefault: true, device: 'cpu', machine: 'test, 2 cores' }, catalogDate: '2026-11-01', modelVersion: 'cai-planner/1' },
  };
}

export function makeRun(n: number, world: number, opts: RunOptions = {}): Fixture {
  const runId = opts.runId ?? 'fixture-run';
  const { zTrue, zPred } = redshifts(n, opts.seed ?? 7);
  const labelled = opts.labelled ?? true;
  const failed = new Set(opts.failed ?? []);
  const t0 = Date.parse('2026-01-02T03:04:05.000Z');
  const per = Math.ceil(n / world);
  const ranks: HtmlRank[] = [];
  const rankResults: RankResult[] = [];
  for (let rank = 0; rank < world; rank++) {
    if (failed.has(rank)) continue;
    const samples = Math.max(0, Math.min(per, n - rank * per));
    const timings = { coldStartMs: 600 + rank * 10, downloadMs: 200 + rank, inferenceMs: 2000 + rank * 50, uploadMs: 40, waitMs: 0, initMs: 300, modelLoadMs: 300 };
    const startedAt = t0 + rank * 120;
    const totalMs = timings.coldStartMs + timings.downloadMs + timings.inferenceMs + timings.uploadMs + 100;
    ranks.push({ rank, startedAt, endedAt: startedAt + totalMs, coldStartMs: timings.coldStartMs, downloadMs: timings.downloadMs, inferenceMs: timings.inferenceMs, uploadMs: timings.uploadMs, samples, status: 'succeeded' });
    rankResults.push({
      schemaVersion: 1,
      kind: 'cai-rank-result',
      runId,
      rank,
      status: 'succeeded',
      partitions: [{ path: `part-${rank}.safetensors`, samples, downloadMs: timings.downloadMs, waitMs: 0, inferenceMs: timings.inferenceMs }],
      samples,
      predictions: { key: `results/${runId}/rank-${String(rank).padStart(5, '0')}.predictions.csv`, rows: samples, bytes: samples * 30 },
      performance: { device: 'cpu', batchSize: 256, numBatches: Math.ceil(samples / 256), samples, inputBytes: samples * 20500, totalTimeS: timings.inferenceMs / 1000, timePerBatchS: null, throughputBps: null, samplesPerS: null, wallTimeS: totalMs / 1000, endToEndSamplesPerS: null, ioTimeS: null, peakMemoryMB: 900 },
      cai: {},
      timings: { startedAt: new Date(startedAt).toISOString(), finishedAt: new Date(startedAt + totalMs).toISOString(), coldStart: true, totalMs, ...timings },
      memory: { peakRssMB: 900, limitMB: 3008 },
      instance: { id: `i-${rank}`, invocation: 1 },
    });
  }
  const cost = lambdaRunCost({ lambda: [{ label: 'ranks', durationsMs: rankResults.map((r) => r.timings.totalMs), memoryGB: 3008 / 1024 }], stateMachine: { mapItems: world }, s3: { get: world, put: world } });
  const wallTimeS = opts.wallTimeS ?? 11;
  const summary: Summary & { prediction?: Prediction } = {
    schemaVersion: 1,
    kind: 'cai-run-summary',
    runId,
    status: failed.size ? 'partial' : 'complete',
    submittedAt: new Date(t0 - 1000).toISOString(),
    finishedAt: new Date(t0 - 1000 + wallTimeS * 1000).toISOString(),
    wallTimeS,
    configuration: { mode: 'inference', data: '/data/sdss/manifest.json', results: `/work/out/results/${runId}/`, model: '/models/astromae.onnx', worldSize: world, concurrency: world, batchSize: 256, threadsPerInstance: 2, memoryMb: 3008, timeoutS: 900, toleratedFailurePercentage: 10, backend: 'local-processes' },
    dataset: { samples: n, partitions: world, bytes: n * 20500, labelled },
    accuracy: labelled ? accuracyMetrics(zTrue, zPred) : null,
    performance: {
      total: { samples: n, inferenceS: 20, downloadS: 2, uploadS: 0.4, coldStartS: 6, samplesPerS: n / wallTimeS, throughputBps: (n * 20500 * 8) / wallTimeS, peakRssMB: 900 },
      ranks: [],
      slowestRank: null,
    },
    invocations: { total: world, ranks: world, retries: 0, coldStarts: world, reusedRanks: 0, crashed: failed.size },
    cost,
    ranks: { succeeded: rankResults.map((r) => r.rank), reused: [], failed: [...failed].map((rank) => ({ rank, error: 'Timeout', cause: 'rank ran past its deadline', partitions: [`part-${rank}.safetensors`], samples: per })) },
    accounting: { manifestSamples: n, predictedSamples: n, missingSamples: 0, duplicateObjectIds: 0, mismatchedPartitions: [], exactlyOnce: true, statement: `${n} of ${n} samples predicted exactly once` },
    outputs: { summary: 'summary.json', predictions: 'predictions.csv', report: null },
    ...(opts.prediction ? { prediction: opts.prediction } : {}),
  };
  return { summary, ranks, rankResults, zTrue: labelled ? zTrue : undefined, zPred };
}

/** Write the fixture's files into `dir` as a run directory. */
export async function writeRunDir(dir: string, f: Fixture): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(f.summary, null, 2));
  for (const r of f.rankResults) writeFileSync(join(dir, `rank-${String(r.rank).padStart(5, '0')}.json`), JSON.stringify(r));
  const objectId = BigInt64Array.from({ length: f.zPred.length }, (_, i) => 1237645879551066262n + BigInt(i));
  await writePredictionsCsv(join(dir, 'predictions.csv'), { objectId, zTrue: f.zTrue, zPred: f.zPred });
}

/** PNG signature and the IHDR width and height. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('first chunk is not IHDR');
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}
