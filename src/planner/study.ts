// The study's published runs as points for the planner's plots, and the same run model on the study's own
// figures beside them: what the model was validated against. Pure: parsed reference data in, points out.
import { BYTES_PER_SAMPLE, PUBLISHED_COMPUTE, STUDY_PRICES, predictRun, rankComputeUsd, studyRunConfig, type ReferenceConfig, type ScaleRun, type StudyFigures, type TimeModelParams } from '../cost/index.js';
import type { MeasuredPoint } from './plot.js';

/** Samples in one of the study's 100 MB partitions (reference README). */
export const STUDY_100MB_PARTITION_SAMPLES = 5113;

/** The scale runs' world size: their data size in GiB over 100 MB partitions of 5,113 samples. */
export function scaleWorldSize(dataGB: number): number {
  return Math.ceil((dataGB * 2 ** 30) / (STUDY_100MB_PARTITION_SAMPLES * BYTES_PER_SAMPLE));
}

/**
 * Data sizes whose runs a concurrency of 1,000 cannot explain are left out: the 983 GB runs (about 10,000
 * ranks of about 22 s each) finished in 109-117 s on average, half the 220 s that 1,000 ranks at once need
 * just to compute. A size is kept while its mean wall time is at least 3/4 of that floor.
 */
export function consistentScaleRuns(runs: readonly ScaleRun[], perRankS: number, concurrency = 1000): ScaleRun[] {
  const mean = (label: string) => {
    const rs = runs.filter((r) => r.label === label);
    return rs.reduce((s, r) => s + r.wallS, 0) / rs.length;
  };
  return runs.filter((r) => mean(r.label) >= 0.75 * (scaleWorldSize(r.dataGB) / concurrency) * perRankS);
}

export function studyMeasuredPoints(configs: readonly ReferenceConfig[], scale: readonly ScaleRun[]): MeasuredPoint[] {
  const out: MeasuredPoint[] = configs.map((c) => ({ dataGB: c.dataGB, wall_s: c.wallS, series: `AWS Lambda, ${c.partitionMB} MB partitions` }));
  const byLabel = new Map<string, ScaleRun[]>();
  for (const r of scale) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), r]);
  for (const rs of byLabel.values()) out.push({ dataGB: rs[0].dataGB, wall_s: rs.reduce((s, r) => s + r.wallS, 0) / rs.length, series: 'AWS Lambda, 100 MB partitions' });
  for (const p of PUBLISHED_COMPUTE) out.push({ dataGB: 12.6, cost_usd: p.usd, series: `AWS Lambda, ${p.partitionMB} MB partitions` });
  return out;
}

/** The run model with the study's figures: 100 MB partitions, 1,000 at once, its 1,000-key result listing, priced as the study priced 100 MB (7.0 GB). */
export function studyModelledPoints(f: StudyFigures, params: TimeModelParams, sizesGB: readonly number[]): MeasuredPoint[] {
  return sizesGB.map((dataGB) => {
    const worldSize = scaleWorldSize(dataGB);
    const config = { ...studyRunConfig({ samples: worldSize * STUDY_100MB_PARTITION_SAMPLES, worldSize }, f), accountConcurrency: 1000 };
    const wall = predictRun(config, params).wallS;
    const cost = rankComputeUsd(predictRun({ ...config, memoryGB: 7.0 }, params, STUDY_PRICES).cost);
    return { dataGB, wall_s: wall, cost_usd: cost, series: 'model, study figures' };
  });
}
