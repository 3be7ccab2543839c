// Deterministic small data sets for engine and CLI tests, written with the project's DatasetWriter.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DatasetWriter } from '../../../src/data/dataset.js';
import type { Partition } from '../../../src/data/partition.js';
import type { Manifest } from '../../../src/data/manifest.js';

/** xorshift32 in [0,1): stable across runs, no dependency on other modules. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** SDSS-like objids exceed 2^53, so exact 64-bit handling is exercised. */
export const FIRST_OBJID = 1237648720693755918n;

export function makePartition(n: number, seed: number, labelled = true, startIndex = 0): Partition {
  const r = rng(seed);
  const image = new Float32Array(n * 5120);
  for (let i = 0; i < image.length; i++) image[i] = r() * 2 - 0.5;
  const magnitude = new Float32Array(n * 5);
  for (let i = 0; i < magnitude.length; i++) magnitude[i] = 14 + r() * 8;
  const redshift = labelled ? Float32Array.from({ length: n }, () => r() * 0.4) : undefined;
  const objectId = BigInt64Array.from({ length: n }, (_, i) => FIRST_OBJID + BigInt((startIndex + i) * 3));
  return { count: n, image, magnitude, redshift, objectId };
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function tempDir(prefix = 'cai-infer-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Write a data set of `samples` samples cut into partitions of `perPartition`; returns its directory. */
export async function writeDataset(dir: string, o: { samples: number; perPartition: number; labelled?: boolean; seed?: number }): Promise<{ dir: string; manifest: Manifest; all: Partition }> {
  const labelled = o.labelled ?? true;
  const all = makePartition(o.samples, o.seed ?? 7, labelled);
  const w = await DatasetWriter.create(dir, { labelled, partitionSamples: o.perPartition, name: 'inference-test' });
  await w.append(all);
  const manifest = await w.finish();
  return { dir, manifest, all };
}

/** Rewrite one partition file and fix its manifest entry (size and sha256), so only the content is wrong. */
export function replacePartitionFile(dir: string, index: number, bytes: Uint8Array): void {
  const manifestPath = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const entry = m.partitions[index]!;
  writeFileSync(join(dir, entry.path), bytes);
  m.bytes += bytes.byteLength - entry.bytes;
  entry.bytes = bytes.byteLength;
  entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(manifestPath, JSON.stringify(m, null, 2));
}

export function partitionFile(dir: string, index: number): string {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return join(dir, m.partitions[index]!.path);
}
