// The original study's published figures (reference/cai, copied from the authors' repository): inference
// time of one machine by data size (a laptop, a Dell XPS server, a university HPC CPU node and an A100 GPU
// node), throughput by batch size on the same machines, and the AWS Lambda runs (whole state machine
// wall time, one invocation's inference time). Parsed here once; every experiment reads them from here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { BYTES_PER_SAMPLE, referenceConfigurations, type ReferenceConfig } from '../../cost/index.js';
import { DataError } from '../../errors.js';

export const REFERENCE_DIR = fileURLToPath(new URL('../../../reference/cai/', import.meta.url));

/** The machines of the published tables, as the CSVs name them, and as the study page names them. */
export const PLATFORMS = {
  laptop: { csv: 'Personal Laptop', name: 'laptop' },
  xps: { csv: 'Dell XPS Server', name: 'Dell XPS server' },
  hpcCpu: { csv: 'Rivanna HPC CPU', name: 'HPC CPU node' },
  a100: { csv: 'Rivanna HPC GPU', name: 'HPC A100 GPU node' },
  lambda: { csv: 'CAI', name: 'AWS Lambda (10,240 MB)' },
} as const;
export type PlatformKey = keyof typeof PLATFORMS;

export interface PublishedFigures {
  /** The authors' average inference time of the whole data set on one machine, by data size (batch 512). */
  dataSize: { platform: PlatformKey; dataGB: number; seconds: number }[];
  /** Throughput of one machine (samples/s of model input) by batch size, 1 GB; runs averaged. */
  batchSize: { platform: PlatformKey; batchSize: number; samplesPerS: number }[];
  /** One Lambda invocation's samples/s by batch size (1 GB in 25 MB partitions: 41 invocations). */
  lambdaBatch: { batchSize: number; inferenceS: number; samplesPerS: number }[];
  /** The published AWS configurations: partition size x data size, whole-run wall time, one invocation's inference time. */
  lambdaRuns: ReferenceConfig[];
}

/** Samples in a data size of the study (its 25 MB configurations' bit counts). */
export function samplesOf(p: PublishedFigures, dataGB: number): number | undefined {
  return p.lambdaRuns.find((c) => c.partitionMB === 25 && c.dataGB === dataGB)?.samples;
}

export async function readPublished(dir = REFERENCE_DIR): Promise<PublishedFigures> {
  const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => Promise.reject(new DataError(join(dir, name), 'file not found (the reference data ships with the repository)')));
  const lambdaRuns = referenceConfigurations(await read('aws_total_execution_time.csv'), await read('aws_partition_stats.csv'));
  const oneGb = lambdaRuns.find((c) => c.partitionMB === 25 && c.dataGB === 1);
  if (!oneGb) throw new DataError(join(dir, 'aws_total_execution_time.csv'), 'no run of 1 GB in 25 MB partitions');
  return {
    dataSize: dataSizeRows(await read('platforms_vary_datasize.csv'), join(dir, 'platforms_vary_datasize.csv')),
    batchSize: batchSizeRows(await read('platforms_vary_batchsize.csv'), join(dir, 'platforms_vary_batchsize.csv')),
    lambdaBatch: lambdaBatchRows(await read('aws_batch_size_stats.csv'), oneGb),
    lambdaRuns,
  };
}

function platformOf(csvName: string): PlatformKey | undefined {
  return (Object.keys(PLATFORMS) as PlatformKey[]).find((k) => PLATFORMS[k].csv === csvName.trim());
}

/** "1,234.5" (a quoted cell with separators) or "1.2E+07" to a number; empty or #DIV/0! to NaN. */
function num(text: unknown): number {
  const t = String(text ?? '').replace(/,/g, '').trim();
  return t === '' ? NaN : Number(t);
}

/** Each group's average is on its first row ("Inference Time"); the other rows of the group hold 0 there. */
function dataSizeRows(text: string, file: string): PublishedFigures['dataSize'] {
  const out: PublishedFigures['dataSize'] = [];
  for (const row of vega.read(text, { type: 'csv' }) as Record<string, string>[]) {
    const platform = platformOf(row.Processor ?? '');
    const seconds = num(row['Inference Time']);
    if (!platform || !(seconds > 0)) continue;
    const dataGB = num(row['Dataset Size (GB)']);
    if (!(dataGB > 0)) throw new DataError(file, `"${row['Dataset Size (GB)']}" is not a data size`);
    out.push({ platform, dataGB, seconds });
  }
  return out;
}

/** Runs of each (machine, batch size) averaged; throughput is bits of model input per second. */
function batchSizeRows(text: string, file: string): PublishedFigures['batchSize'] {
  const groups = new Map<string, { platform: PlatformKey; batchSize: number; bps: number[] }>();
  for (const row of vega.read(text, { type: 'csv' }) as Record<string, string>[]) {
    const platform = platformOf(row.Processor ?? '');
    if (!platform) continue;
    const batchSize = num(row['batch size']);
    const bps = num(row.throughput);
    if (!(batchSize > 0) || !(bps > 0)) throw new DataError(file, `a ${row.Processor} row has batch size "${row['batch size']}" and throughput "${row.throughput}"`);
    const key = `${platform}/${batchSize}`;
    const g = groups.get(key) ?? { platform, batchSize, bps: [] };
    g.bps.push(bps);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ platform: g.platform, batchSize: g.batchSize, samplesPerS: g.bps.reduce((s, x) => s + x, 0) / g.bps.length / 8 / BYTES_PER_SAMPLE }));
}

/** The "mean" rows: one invocation's inference time; its samples are the 1 GB data set over its 41 invocations. */
function lambdaBatchRows(text: string, oneGb: ReferenceConfig): PublishedFigures['lambdaBatch'] {
  const out: PublishedFigures['lambdaBatch'] = [];
  for (const row of vega.read(text, { type: 'csv' }) as Record<string, string>[]) {
    if (row.run !== 'mean') continue;
    const inferenceS = num(row['total_cpu_time (seconds)']);
    out.push({ batchSize: num(row.batch_size), inferenceS, samplesPerS: oneGb.samplesPerRank / inferenceS });
  }
  return out;
}
