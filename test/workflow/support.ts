// Small real fixtures for workflow tests: a synthetic labelled data set on any storage and a seeded model.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter } from '../../src/data/dataset.js';
import { synthesize } from '../../src/data/synth/generator.js';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import type { Storage } from '../../src/storage/types.js';
import { CONTRACT_VERSION, type RunConfig } from '../../src/workflow/contracts.js';

export function tempDir(prefix = 'cai-wf-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A labelled synthetic data set: `partitions` partitions of `perPartition` samples. Returns every object id. */
export async function writeDataset(opts: { dir?: string; storage?: Storage; prefix?: string; partitions: number; perPartition: number; seed?: number }): Promise<string[]> {
  const w = await DatasetWriter.create(opts.storage ? (opts.prefix ?? '') : opts.dir!, { labelled: true, partitionSamples: opts.perPartition, storage: opts.storage, name: 'workflow-test' });
  const p = synthesize({ samples: opts.partitions * opts.perPartition, seed: opts.seed ?? 11 });
  await w.append(p);
  await w.finish();
  return Array.from(p.objectId, (x) => x.toString());
}

let modelPath: string | undefined;
/** A seeded (uncalibrated) AstroMAE model written once per test process. */
export function seededModel(): string {
  if (!modelPath) {
    const { dir } = tempDir('cai-model-');
    modelPath = join(dir, 'astromae-seed1.onnx');
    writeFileSync(modelPath, buildAstroMAEOnnx({ seed: 1 }));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return modelPath;
}

export function runConfig(over: Partial<RunConfig> & Pick<RunConfig, 'data' | 'results' | 'model'>): RunConfig {
  return {
    schemaVersion: CONTRACT_VERSION,
    runId: 'test-run',
    mode: 'inference',
    worldSize: 2,
    concurrency: 2,
    batchSize: 16,
    threads: 1,
    memoryMb: 1024,
    timeoutS: 120,
    readAhead: 1,
    toleratedFailurePercentage: 100,
    report: false,
    submittedAt: new Date().toISOString(),
    ...over,
  };
}
