// The demo's data set: synthetic labelled galaxies in 25 MB partitions, generated once and reused while the
// seed and size stay the same.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PARTITION_BYTES, DatasetWriter } from '../data/dataset.js';
import { MANIFEST_FILE, parseManifest } from '../data/manifest.js';
import { synthSource, synthesize } from '../data/synth/generator.js';

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

export async function ensureDemoDataset(o: DemoDataOptions): Promise<DemoData> {
  const manifestPath = join(o.dir, MANIFEST_FILE);
  const partitionBytes = o.partitionBytes ?? DEFAULT_PARTITION_BYTES;
  try {
    const m = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
    const src = (m.source ?? {}) as { generator?: unknown; seed?: unknown; samples?: unknown; partitionBytes?: unknown };
    if (src.generator === 'cai-synth' && src.seed === o.seed && m.samples === o.samples && src.partitionBytes === partitionBytes && m.labelled)
      return { manifestPath, samples: m.samples, partitions: m.partitions.length, bytes: m.bytes, reused: true };
  } catch {
    // absent or unusable: generate it
  }
  const w = await DatasetWriter.create(o.dir, {
    name: `cai-demo-seed${o.seed}`,
    labelled: true,
    partitionBytes,
    overwrite: true,
    source: { ...synthSource(o.seed, o.samples), partitionBytes },
  });
  for (let start = 0; start < o.samples; start += CHUNK) {
    const n = Math.min(CHUNK, o.samples - start);
    await w.append(synthesize({ samples: n, seed: o.seed, startIndex: start }));
    o.onProgress?.(start + n, o.samples);
  }
  const m = await w.finish();
  return { manifestPath, samples: m.samples, partitions: m.partitions.length, bytes: m.bytes, reused: false };
}
