// Split or merge a data set into partitions of a new target size. Streams: one source partition in memory
// at a time (plus the output partition being filled); sample order and object ids are preserved.
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { DatasetWriter, describeKey, type Dataset } from './dataset.js';
import type { Manifest } from './manifest.js';

export interface RepartitionOptions {
  partitionSamples?: number;
  partitionBytes?: number;
  overwrite?: boolean;
  /** Write through this storage; `outDir` is then a key prefix inside it. */
  storage?: Storage;
  /** 'sha256' (default) or 'size' verification of the source partitions. */
  verify?: 'sha256' | 'size';
  onPartition?: (done: number, total: number) => void;
}

async function canonical(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    return abs;
  }
}

export async function repartition(src: Dataset, outDir: string, opts: RepartitionOptions): Promise<Manifest> {
  if (opts.partitionSamples === undefined && opts.partitionBytes === undefined) throw new UsageError('choose a partition size: samples or bytes');
  // Writing into the source would delete the manifest being read.
  const from = src.storage.location.startsWith('file://') ? await canonical(describeKey(src.storage, src.baseKey)) : describeKey(src.storage, src.baseKey);
  const to = opts.storage ? describeKey(opts.storage, outDir.replace(/^\/+|\/+$/g, '') + (outDir ? '/' : '')) : await canonical(outDir);
  const trim = (s: string): string => s.replace(/\/+$/, '');
  if (trim(from) === trim(to)) throw new UsageError(`output ${to} is the input data set's own directory; choose another output`);

  const m = src.manifest;
  const writer = await DatasetWriter.create(outDir, {
    ...(m.name !== undefined ? { name: m.name } : {}),
    labelled: m.labelled,
    ...(opts.partitionSamples !== undefined ? { partitionSamples: opts.partitionSamples } : {}),
    ...(opts.partitionBytes !== undefined ? { partitionBytes: opts.partitionBytes } : {}),
    source: { ...(m.source ?? {}), repartitionedFrom: src.location },
    ...(opts.storage ? { storage: opts.storage } : {}),
    ...(opts.overwrite ? { overwrite: true } : {}),
  });
  let done = 0;
  for (const entry of m.partitions) {
    const p = await src.readPartition(entry, { verify: opts.verify ?? 'sha256' });
    await writer.append(p);
    opts.onPartition?.(++done, m.partitions.length);
  }
  return writer.finish();
}
