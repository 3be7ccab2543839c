// Write a synthetic data set: generate one partition's worth of galaxies at a time and hand it to the writer.
import type { Storage } from '../../storage/types.js';
import { DatasetWriter } from '../dataset.js';
import type { Manifest } from '../manifest.js';
import { SYNTH_GENERATOR, synthSource, synthesize } from './generator.js';

export interface SynthDatasetOptions {
  samples: number;
  seed: number;
  labelled?: boolean;
  partitionSamples?: number;
  partitionBytes?: number;
  overwrite?: boolean;
  storage?: Storage;
  name?: string;
  onProgress?: (samplesDone: number, samplesTotal: number) => void;
}

export async function synthesizeDataset(outDir: string, opts: SynthDatasetOptions): Promise<Manifest> {
  const labelled = opts.labelled ?? true;
  const writer = await DatasetWriter.create(outDir, {
    name: opts.name ?? `${SYNTH_GENERATOR} seed ${opts.seed}`,
    labelled,
    ...(opts.partitionSamples !== undefined ? { partitionSamples: opts.partitionSamples } : {}),
    ...(opts.partitionBytes !== undefined ? { partitionBytes: opts.partitionBytes } : {}),
    source: synthSource(opts.seed, opts.samples),
    ...(opts.storage ? { storage: opts.storage } : {}),
    ...(opts.overwrite ? { overwrite: true } : {}),
    metadata: { generator: SYNTH_GENERATOR, seed: String(opts.seed) },
  });
  // Chunks the size of a partition: the writer then writes each one without copying.
  const chunk = writer.perPartition;
  for (let start = 0; start < opts.samples; start += chunk) {
    const n = Math.min(chunk, opts.samples - start);
    await writer.append(synthesize({ samples: n, seed: opts.seed, startIndex: start, labelled }));
    opts.onProgress?.(start + n, opts.samples);
  }
  return writer.finish();
}
