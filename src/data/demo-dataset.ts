// The demo's data set (`cai demo`): synthetic labelled galaxies in 25 MB partitions, generated once and
// reused while the seed and size stay the same.
import { join } from 'node:path';
import { openStorage } from '../storage/index.js';
import { DEFAULT_PARTITION_BYTES, DatasetWriter, readManifest } from './dataset.js';
import { MANIFEST_FILE } from './manifest.js';
import { synthSource, synthesize } from './synth/generator.js';

export interface DemoDataOptions {
  dir: string;
  samples: number;
  seed: number;
  partitionBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DemoData {
  manifestPath: string;
  samples: number;
  partitions: number;
  bytes: number;
  /** True when an existing data set with the same seed and size was kept. */
  reused: boolean;
}

/** Samples generated per step: large enough to be efficient, small enough to show progress. */
const CHUNK = 500;

export async function ensureDemoDataset(demo: DemoDataOptions): Promise<DemoData> {
  const manifestPath = join(demo.dir, MANIFEST_FILE);
  const partitionBytes = demo.partitionBytes ?? DEFAULT_PARTITION_BYTES;
  try {
    const { manifest: m } = await readManifest(openStorage(demo.dir));
    const src = (m.source ?? {}) as { generator?: unknown; seed?: unknown; samples?: unknown; partitionBytes?: unknown };
    if (src.generator === 'cai-synth' && src.seed === demo.seed && m.samples === demo.samples && src.partitionBytes === partitionBytes && m.labelled)
      return { manifestPath, samples: m.samples, partitions: m.partitions.length, bytes: m.bytes, reused: true };
  } catch {
    // absent or unusable: generate it
  }
  const w = await DatasetWriter.create(demo.dir, {
    name: `cai-demo-seed${demo.seed}`,
    labelled: true,
    partitionBytes,
    overwrite: true,
    source: { ...synthSource(demo.seed, demo.samples), partitionBytes },
  });
  for (let start = 0; start < demo.samples; start += CHUNK) {
    const n = Math.min(CHUNK, demo.samples - start);
    await w.append(synthesize({ samples: n, seed: demo.seed, startIndex: start }));
    demo.onProgress?.(start + n, demo.samples);
  }
  const m = await w.finish();
  return { manifestPath, samples: m.samples, partitions: m.partitions.length, bytes: m.bytes, reused: false };
}
