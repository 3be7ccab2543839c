// The study's published AWS measurements (CSV text) as time-model observations and the per-instance
// figures they imply. reference/cai/README.md says where they come from:
//   aws_total_execution_time.csv  each run's wall time and world size (W)
//   aws_partition_stats.csv       for the same (partition MB, data GB, run), one invocation's inference
//                                 time and the bits of model input
// and reference/cai-scale/ holds the study's later runs of 100 GB to 1 TB, used only to check how the
// model extrapolates (nothing is fitted on them).
import { DataError } from '../errors.js';
import { STUDY_PRICES } from './lambda-cost.js';
import { BYTES_PER_SAMPLE, LAMBDA_LIMITS, weightedLine, type Observation, type RunConfig } from './time-model.js';

/** Init (cold start) of the published 50 MB invocation: 660.76 ms (reference README). */
export const STUDY_COLD_START_S = 0.66076;
/** The study's functions: 10,240 MB (reference README). */
export const STUDY_MEMORY_MB = 10_240;
/** The study's Summarize lists the results once: one S3 listing returns at most 1,000 keys. */
export const STUDY_RESULT_LIST_CAP = LAMBDA_LIMITS.s3ListMaxKeys;

/** The study's published compute cost of the full 12.6 GB, per partition size (reference README). */
export const PUBLISHED_COMPUTE = Object.freeze([
  { partitionMB: 25, requests: 517, durationS: 6.55, memoryGB: 2.8, usd: 0.16 },
  { partitionMB: 50, requests: 259, durationS: 11.8, memoryGB: 4.0, usd: 0.2 },
  { partitionMB: 75, requests: 173, durationS: 17.6, memoryGB: 5.9, usd: 0.3 },
  { partitionMB: 100, requests: 130, durationS: 25, memoryGB: 7.0, usd: 0.38 },
] as const);

/** One published configuration (partition size x data size), its runs averaged. */
export interface ReferenceConfig {
  partitionMB: number;
  dataGB: number;
  worldSize: number;
  /** Samples of the whole data set (the largest count any run reported). */
  samples: number;
  samplesPerRank: number;
  /** Mean whole-run wall time of the runs, and each run's. */
  wallS: number;
  runsWallS: number[];
  /** Mean inference time of one invocation, as published ("mean" row). */
  inferenceS: number;
}

export interface ReferenceRun extends Observation {
  partitionMB: number;
  dataGB: number;
  run: string;
}

/** The per-instance figures of the study's setup, measured or fitted from its own per-invocation numbers. */
export interface StudyFigures {
  /** Inference seconds per sample at 10,240 MB (slope of inference time against samples per invocation). */
  perSampleS: number;
  /** Inference seconds per invocation besides its samples (the intercept). */
  partitionOverheadS: number;
  /** S3 download bandwidth of one instance, bytes/s (published billed durations minus init and inference). */
  downloadBytesPerS: number;
  coldStartS: number;
  memoryGB: number;
}

const NAMES = { total: 'aws_total_execution_time.csv', partition: 'aws_partition_stats.csv' };

/** Parse the two CSVs into one entry per published configuration, sorted by partition then data size. */
export function referenceConfigurations(totalCsv: string, partitionCsv: string, names = NAMES): ReferenceConfig[] {
  const stats = partitionStats(partitionCsv, names.partition);
  const byKey = new Map<string, { partitionMB: number; dataGB: number; worldSize: number; walls: number[] }>();
  for (const row of csvRows(totalCsv, names.total, 5)) {
    const [mbText, gbText, , worlds, duration] = row.cells;
    const partitionMB = num(mbText, names.total, row.line);
    const dataGB = num(gbText, names.total, row.line);
    const worldSize = num(worlds, names.total, row.line);
    const key = `${partitionMB}/${dataGB}`;
    const c = byKey.get(key) ?? { partitionMB, dataGB, worldSize, walls: [] };
    if (c.worldSize !== worldSize) throw new DataError(names.total, `line ${row.line}: world size ${worldSize} differs from ${c.worldSize} in another run of ${key}`);
    c.walls.push(parseDuration(duration, names.total, row.line));
    byKey.set(key, c);
  }
  const out: ReferenceConfig[] = [];
  for (const [key, c] of byKey) {
    const s = stats.get(key);
    if (!s || s.meanS === undefined) throw new DataError(names.partition, `no "mean" row for partition ${c.partitionMB} MB, data ${c.dataGB} GB`);
    // A run that lost invocations reports fewer bits; the data set itself is the largest count seen.
    const samples = Math.round(s.maxBits / 8 / BYTES_PER_SAMPLE);
    out.push({
      partitionMB: c.partitionMB,
      dataGB: c.dataGB,
      worldSize: c.worldSize,
      samples,
      samplesPerRank: Math.ceil(samples / c.worldSize),
      wallS: c.walls.reduce((a, b) => a + b, 0) / c.walls.length,
      runsWallS: c.walls,
      inferenceS: s.meanS,
    });
  }
  return out.sort((a, b) => a.partitionMB - b.partitionMB || a.dataGB - b.dataGB);
}

/**
 * The study's per-instance figures from its own per-invocation measurements, never from wall times:
 * inference = overhead + perSample x samples (least squares over the configurations given), and the S3
 * bandwidth from the published billed durations (`published`, those whose partition size is among the
 * configurations): billed - init - typical inference = bytes / bandwidth, fitted through the origin, where
 * the typical inference of a partition size is the median over its data sizes (a few runs lost invocations).
 */
export function fitStudyFigures(configs: readonly ReferenceConfig[], published: readonly (typeof PUBLISHED_COMPUTE)[number][] = PUBLISHED_COMPUTE): StudyFigures {
  const line = weightedLine(
    configs.map((c) => c.samplesPerRank),
    configs.map((c) => c.inferenceS),
    configs.map(() => 1),
    'the study figures need configurations with different partition sizes',
  );
  let sbb = 0;
  let sbg = 0;
  for (const p of published) {
    const same = configs.filter((c) => c.partitionMB === p.partitionMB);
    if (!same.length) continue;
    const typical = median(same.map((c) => c.inferenceS));
    const bytes = median(same.map((c) => c.samplesPerRank)) * BYTES_PER_SAMPLE;
    const gap = p.durationS - STUDY_COLD_START_S - typical;
    sbb += bytes * bytes;
    sbg += bytes * gap;
  }
  // Published durations at or below init + inference say nothing about the bandwidth: treat it as unbounded then.
  const downloadBytesPerS = sbg > 0 ? sbb / sbg : Infinity;
  return { perSampleS: line.slope, partitionOverheadS: Math.max(0, line.intercept), downloadBytesPerS, coldStartS: STUDY_COLD_START_S, memoryGB: STUDY_MEMORY_MB / 1024 };
}

/** A published configuration as the run model sees it: the study's functions and its Summarize's listing cap. */
export function studyRunConfig(c: Pick<ReferenceConfig, 'samples' | 'worldSize'>, f: StudyFigures): RunConfig {
  return {
    samples: c.samples,
    worldSize: c.worldSize,
    perSampleInferenceS: f.perSampleS,
    partitionOverheadS: f.partitionOverheadS,
    coldStartS: f.coldStartS,
    downloadBytesPerS: Number.isFinite(f.downloadBytesPerS) ? f.downloadBytesPerS : 1e15,
    memoryGB: f.memoryGB,
    resultListCap: STUDY_RESULT_LIST_CAP,
  };
}

/** One observation per published configuration (runs averaged), with the figures `f`. */
export function referenceObservationsOf(configs: readonly ReferenceConfig[], f: StudyFigures): (Observation & ReferenceConfig)[] {
  return configs.map((c) => ({ ...c, config: studyRunConfig(c, f), wallS: c.wallS }));
}

/** One observation per published run (84), with the figures fitted on all configurations. */
export function referenceObservations(totalCsv: string, partitionCsv: string): ReferenceRun[] {
  const configs = referenceConfigurations(totalCsv, partitionCsv);
  const f = fitStudyFigures(configs);
  return configs.flatMap((c) => c.runsWallS.map((wallS, i) => ({ partitionMB: c.partitionMB, dataGB: c.dataGB, run: String(i + 1), config: studyRunConfig(c, f), wallS })));
}

/**
 * What a configuration's rank compute cost was, priced as the study priced it (invocations x duration x
 * the published memory of that partition size x 0.0000166667 USD/GB-s): the duration is the configuration's
 * own measured inference time plus the init and download the published billed duration of that partition
 * size shows on top of its typical inference time; for the full data set, the published figure itself.
 * Undefined for a partition size the study did not price.
 */
export function measuredComputeUsd(c: ReferenceConfig, configs: readonly ReferenceConfig[]): number | undefined {
  const p = PUBLISHED_COMPUTE.find((x) => x.partitionMB === c.partitionMB);
  if (!p) return undefined;
  // The full data set is the one the study priced: its own figure is the measurement.
  if (c.worldSize === p.requests) return p.requests * p.durationS * p.memoryGB * STUDY_PRICES.gbSecondUsd;
  const typical = median(configs.filter((x) => x.partitionMB === c.partitionMB).map((x) => x.inferenceS));
  const durationS = c.inferenceS + (p.durationS - typical);
  return c.worldSize * durationS * p.memoryGB * STUDY_PRICES.gbSecondUsd;
}

/** The memory the study priced a partition size at (its published figure), GB. */
export function publishedMemoryGB(partitionMB: number): number | undefined {
  return PUBLISHED_COMPUTE.find((x) => x.partitionMB === partitionMB)?.memoryGB;
}

/** One of the study's later runs of 100 GB to 1 TB (reference/cai-scale). */
export interface ScaleRun {
  label: string;
  dataGB: number;
  partitionMB: number;
  run: string;
  wallS: number;
  /** The Map state's duration as the study's log collector recorded it. */
  mapS: number;
}

/**
 * The scale runs of state_machine_logs.csv whose data label is a size of at least 100 GB ("100GB", "1TB").
 * Rows labelled otherwise (timing, test) are not runs of a stated data size and are skipped.
 */
export function scaleRuns(csv: string, file = 'state_machine_logs.csv'): ScaleRun[] {
  const out: ScaleRun[] = [];
  for (const row of csvRows(csv, file, 6)) {
    const [label, , run, partition, total, map] = row.cells;
    const m = /^(\d+(?:\.\d+)?)(GB|TB)$/.exec(label);
    if (!m) continue;
    const dataGB = Number(m[1]) * (m[2] === 'TB' ? 1024 : 1);
    if (dataGB < 100) continue;
    const pm = /^(\d+)MB$/.exec(partition);
    if (!pm) throw new DataError(file, `line ${row.line}: partition "${partition}" is not like 100MB`);
    out.push({ label, dataGB, partitionMB: Number(pm[1]), run, wallS: num(total, file, row.line), mapS: num(map, file, row.line) });
  }
  return out;
}

/** The mean per-invocation inference time of each data size in scale_partition_stats.csv ("mean" rows). */
export function scaleInference(csv: string, file = 'scale_partition_stats.csv'): Map<number, number> {
  const out = new Map<number, number>();
  for (const [key, s] of partitionStats(csv, file)) if (s.meanS !== undefined) out.set(Number(key.split('/')[1]), s.meanS);
  return out;
}

/** "mm:ss.sss" -> seconds. */
export function parseDuration(text: string, file: string, line: number): number {
  const m = /^(\d+):(\d{1,2}(?:\.\d+)?)$/.exec(text.trim());
  if (!m) throw new DataError(file, `line ${line}: duration "${text}" is not mm:ss.sss`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function partitionStats(csv: string, file: string): Map<string, { meanS?: number; maxBits: number }> {
  const stats = new Map<string, { meanS?: number; maxBits: number }>();
  for (const row of csvRows(csv, file, 7)) {
    const [mb, gb, run, cpu, , , bits] = row.cells;
    const key = `${num(mb, file, row.line)}/${num(gb, file, row.line)}`;
    const s = stats.get(key) ?? { maxBits: 0 };
    if (run === 'mean') s.meanS = num(cpu, file, row.line);
    else s.maxBits = Math.max(s.maxBits, num(bits, file, row.line));
    stats.set(key, s);
  }
  return stats;
}

function* csvRows(text: string, file: string, minCells: number): Generator<{ line: number; cells: string[] }> {
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const cells = lines[i].split(',').map((c) => c.trim());
    if (cells.length < minCells) throw new DataError(file, `line ${i + 1}: expected at least ${minCells} columns, got ${cells.length}`);
    yield { line: i + 1, cells };
  }
}

function num(text: string | undefined, file: string, line: number): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(n)) throw new DataError(file, `line ${line}: "${text ?? ''}" is not a number`);
  return n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
