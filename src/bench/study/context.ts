// What the experiments of the study share: their sizes (full, quick, or a tiny set for tests), the model,
// synthesized data sets (made once per size and reused), this machine's facts, the published figures,
// the planner's environment for the modelled figures, and the progress line.
import { mkdir } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, openLocalDataset, samplesForPartitionBytes, type Dataset } from '../../data/dataset.js';
import { synthesize } from '../../data/synth/generator.js';
import { loadCatalog } from '../../cost/index.js';
import { planEnv } from '../../planner/env.js';
import type { Profile } from '../../planner/profile.js';
import type { PlanEnv } from '../../planner/types.js';
import type { PublishedFigures } from './published.js';
import type { StudyMachine } from './results.js';

/** The sizes of every experiment. */
export interface StudySizes {
  /** Batch sizes, and the samples each is measured over (best of `repeats`). */
  batchSizes: number[];
  batchSamples: number;
  repeats: number;
  /** Data sets measured here, MB of stored partitions (25 MB partitions, or the size itself when smaller). */
  dataSizesMB: number[];
  /** World sizes of `cai run` over one data set of `worldDataMB` in `worldPartitions` partitions. */
  worldSizes: number[];
  worldDataMB: number;
  worldPartitions: number;
  /** Partition sizes, MB: one partition of each is predicted. */
  partitionSizesMB: number[];
  /** Ranks of the no-data fan-out. */
  noDataRanks: number[];
  /** FMI: world sizes, channels and timed runs per operation. */
  fmiWorldSizes: number[];
  fmiChannels: ('tcp' | 'redis')[];
  fmiRuns: number;
}

/** The original experiments at their sizes, as far as one machine allows (about five times the work of QUICK). */
export const FULL: Readonly<StudySizes> = Object.freeze<StudySizes>({
  batchSizes: [32, 64, 128, 256, 512],
  batchSamples: 6144,
  repeats: 2,
  dataSizesMB: [25, 50, 100, 250],
  worldSizes: [1, 2, 4, 8],
  worldDataMB: 100,
  worldPartitions: 16,
  partitionSizesMB: [25, 50, 75, 100],
  noDataRanks: [2, 4, 16],
  fmiWorldSizes: [3, 16, 64, 128, 200],
  fmiChannels: ['tcp', 'redis'],
  fmiRuns: 10,
});

/** Every experiment, smaller: 184 s of CPU time measured, under 5 minutes of wall time on 2 quiet cores (docs/study.md). */
export const QUICK: Readonly<StudySizes> = Object.freeze<StudySizes>({
  batchSizes: [32, 64, 128, 256, 512],
  batchSamples: 1536,
  repeats: 1,
  dataSizesMB: [10, 25, 50],
  worldSizes: [1, 2, 4],
  worldDataMB: 25,
  worldPartitions: 8,
  partitionSizesMB: [25, 50, 100],
  noDataRanks: [2, 4, 16],
  fmiWorldSizes: [3, 16, 64, 200],
  fmiChannels: ['tcp'],
  fmiRuns: 5,
});

export interface StudyContext {
  sizes: StudySizes;
  model: string;
  /** Scratch space for data sets and runs (removed by the caller). */
  tmp: string;
  cores: number;
  published: PublishedFigures;
  /** The planner's environment; the batch-size experiment replaces its CPU profile with what it measured. */
  env: PlanEnv;
  /** Set by the batch-size experiment: this machine's measured throughput as a planner profile. */
  profile?: Profile;
  /** A labelled synthesized data set of `samples` in partitions of `partitionSamples`, made once. */
  dataset(samples: number, partitionSamples: number): Promise<Dataset & { dir: string }>;
  /** `done` of `total` steps of the running experiment. */
  step(what: string, done: number, total: number): void;
}

/** Samples of a stored, labelled partition of `mb` MB (10^6 bytes). */
export function samplesOfMB(mb: number): number {
  return Math.max(1, samplesForPartitionBytes(mb * 1e6, true));
}

export function machineFacts(loadBefore: number[]): StudyMachine {
  const cores = availableParallelism();
  const loadAfter = loadavg();
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadBefore: loadBefore.map(round2),
    loadAfter: loadAfter.map(round2),
    shared: Math.max(loadBefore[0], loadAfter[0], loadAfter[1]) > cores,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function makeContext(o: { sizes: StudySizes; model: string; tmp: string; published: PublishedFigures; step: StudyContext['step'] }): Promise<StudyContext> {
  const made = new Map<string, Promise<Dataset & { dir: string }>>();
  const env = planEnv({ catalog: await loadCatalog(), localCores: availableParallelism(), localMemoryGB: totalmem() / 2 ** 30 });
  return {
    sizes: o.sizes,
    model: o.model,
    tmp: o.tmp,
    cores: availableParallelism(),
    published: o.published,
    env,
    step: o.step,
    dataset(samples, partitionSamples) {
      const key = `${samples}x${partitionSamples}`;
      let p = made.get(key);
      if (!p) {
        p = synthDataset(join(o.tmp, `data-${key}`), samples, partitionSamples);
        made.set(key, p);
      }
      return p;
    },
  };
}

/** The same seeded galaxies for every data set, so that sizes differ only in how many there are. */
async function synthDataset(dir: string, samples: number, partitionSamples: number): Promise<Dataset & { dir: string }> {
  await mkdir(dir, { recursive: true });
  const w = await DatasetWriter.create(dir, { labelled: true, partitionSamples, name: `study-${samples}` });
  const chunk = 1024;
  for (let start = 0; start < samples; start += chunk) await w.append(synthesize({ samples: Math.min(chunk, samples - start), seed: 7, startIndex: start }));
  await w.finish();
  return Object.assign(await openLocalDataset(dir), { dir });
}
