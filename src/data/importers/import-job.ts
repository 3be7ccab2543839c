// `cai data import`: foreign files -> one native data set. Every file is opened and mapped first (headers
// only), so a file that cannot be mapped fails the import before anything is written; then the files are
// streamed one at a time, in sample ranges, into a DatasetWriter. The manifest is written only when
// every file has been imported; on failure, and on SIGINT, SIGTERM or SIGHUP, the partitions written so
// far are removed again, so a rerun finds the output as it was. (SIGKILL cannot be caught: what it leaves
// is partitions without a manifest, which a rerun with --overwrite replaces.)
import type { Manifest } from '../manifest.js';
import { DatasetWriter, bytesPerSample, partitionPath } from '../dataset.js';
import { DataError } from '../../errors.js';
import { openImport, type ImportReader } from './index.js';
import type { ArrayMapping, KeyMap } from './mapping.js';

/** Samples read per step: about 64 MB of image data, so a large HDF5 or .npy never sits in memory whole. */
export const IMPORT_CHUNK_SAMPLES = Math.floor(64_000_000 / bytesPerSample(true));

export interface ImportJobOptions {
  out: string;
  keys?: KeyMap;
  channelsLast?: boolean;
  partitionSamples?: number;
  partitionBytes?: number;
  name?: string;
  overwrite?: boolean;
  /** First sequential object id for files without an id array (continues across files). Default 0. */
  idBase?: bigint;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportProgress {
  file: string;
  fileIndex: number;
  files: number;
  samplesDone: number;
  samplesTotal: number;
}

export interface ImportedFile {
  file: string;
  format: string;
  samples: number;
  mapping: ArrayMapping;
}

export interface ImportReport {
  out: string;
  manifest: string;
  samples: number;
  partitions: number;
  bytes: number;
  labelled: boolean;
  files: ImportedFile[];
}

interface Planned {
  file: string;
  format: string;
  samples: number;
  labelled: boolean;
  mapping: ArrayMapping;
  idBase: bigint;
}

async function plan(files: readonly string[], opts: ImportJobOptions): Promise<Planned[]> {
  const planned: Planned[] = [];
  let nextId = opts.idBase ?? 0n;
  for (const file of files) {
    const reader = await openImport(file, { keys: opts.keys, channelsLast: opts.channelsLast, idBase: nextId });
    try {
      planned.push({ file, format: reader.source.format, samples: reader.samples, labelled: reader.labelled, mapping: reader.mapping, idBase: nextId });
    } finally {
      await reader.close();
    }
    // Sequential ids continue across files so that they stay unique in the data set.
    if (!('array' in reader.mapping.objectId)) {
      nextId += BigInt(reader.samples);
      if (nextId - 1n > 0x7fffffffffffffffn) throw new DataError(file, `sequential object ids would pass the int64 maximum; choose a smaller --id-base`);
    }
  }
  const labelled = planned.filter((p) => p.labelled);
  if (labelled.length > 0 && labelled.length < planned.length) {
    const bare = planned.find((p) => !p.labelled)!;
    throw new DataError(bare.file, `has no redshifts but ${labelled[0]!.file} has; import labelled and unlabelled files separately, or drop the labels with --keys redshift=none`);
  }
  return planned;
}

function describeSource(planned: Planned[]): Record<string, unknown> {
  return {
    importer: 'cai data import',
    files: planned.map((p) => ({
      file: p.file,
      format: p.format,
      samples: p.samples,
      image: `${p.mapping.image.array} (${p.mapping.image.layout})`,
      magnitude: p.mapping.magnitude.array,
      ...(p.mapping.redshift ? { redshift: p.mapping.redshift.array } : {}),
      objectId: 'array' in p.mapping.objectId ? p.mapping.objectId.array : `sequential from ${p.idBase}`,
    })),
  };
}

/** Signals that stop an import: it removes what it wrote, then lets the signal end the process as usual. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Thrown out of an import stopped by a signal, when something else handles that signal too. */
export class ImportInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`import interrupted by ${signal}; the partitions it had written were removed`);
  }
}

/** Notes a stop signal while installed; a second signal of the same kind ends the process at once. */
function watchSignals(): { stopped(): NodeJS.Signals | undefined; release(): void } {
  let got: NodeJS.Signals | undefined;
  const handlers = STOP_SIGNALS.map((sig) => {
    const handler = (): void => {
      if (got === sig) {
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
        return;
      }
      got = sig;
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return {
    stopped: () => got,
    release: () => {
      for (const [sig, handler] of handlers) process.removeListener(sig, handler);
    },
  };
}

export async function importFiles(files: readonly string[], opts: ImportJobOptions): Promise<ImportReport> {
  if (files.length === 0) throw new DataError('(no files)', 'nothing to import');
  const planned = await plan(files, opts);
  const labelled = planned.every((p) => p.labelled);
  const total = planned.reduce((s, p) => s + p.samples, 0);
  const signals = watchSignals();
  try {
    return await writeAll(planned, labelled, total, opts, signals.stopped);
  } catch (e) {
    const sig = e instanceof ImportInterrupted ? e.signal : undefined;
    signals.release();
    // Nobody else handles the signal: end the process the way the signal would have (exit 128 + n).
    if (sig && process.listenerCount(sig) === 0) {
      process.kill(process.pid, sig);
      await new Promise(() => {});
    }
    throw e;
  } finally {
    signals.release();
  }
}

async function writeAll(planned: Planned[], labelled: boolean, total: number, opts: ImportJobOptions, stopped: () => NodeJS.Signals | undefined): Promise<ImportReport> {
  const writer = await DatasetWriter.create(opts.out, {
    name: opts.name,
    labelled,
    partitionSamples: opts.partitionSamples,
    partitionBytes: opts.partitionBytes,
    overwrite: opts.overwrite,
    source: describeSource(planned),
  });
  let done = 0;
  let manifest: Manifest;
  const checkStop = (): void => {
    const sig = stopped();
    if (sig) throw new ImportInterrupted(sig);
  };
  try {
    for (const [i, p] of planned.entries()) {
      let reader: ImportReader | undefined;
      try {
        reader = await openImport(p.file, { keys: opts.keys, channelsLast: opts.channelsLast, idBase: p.idBase });
        // The file may have changed since it was planned; the plan decided the manifest's source.
        if (reader.samples !== p.samples || reader.labelled !== p.labelled) throw new DataError(p.file, 'changed while importing');
        for (let s = 0; s < reader.samples; s += IMPORT_CHUNK_SAMPLES) {
          const e = Math.min(reader.samples, s + IMPORT_CHUNK_SAMPLES);
          const part = await reader.read(s, e);
          checkStop();
          await writer.append(part);
          checkStop();
          done += e - s;
          opts.onProgress?.({ file: p.file, fileIndex: i, files: planned.length, samplesDone: done, samplesTotal: total });
        }
      } finally {
        await reader?.close();
      }
    }
    checkStop();
    manifest = await writer.finish();
  } catch (e) {
    await removeWritten(writer);
    throw e;
  }
  return {
    out: opts.out,
    manifest: writer.location,
    samples: manifest.samples,
    partitions: manifest.partitions.length,
    bytes: manifest.bytes,
    labelled,
    files: planned.map((p) => ({ file: p.file, format: p.format, samples: p.samples, mapping: p.mapping })),
  };
}

/** Remove the partitions of an import that failed, so nothing half-written is left behind. */
async function removeWritten(writer: DatasetWriter): Promise<void> {
  for (let i = 0; i < writer.partitionsWritten; i++) {
    try {
      await writer.storage.delete(writer.baseKey + partitionPath(i));
    } catch {
      // Best effort: without a manifest these files are not a data set anyway.
    }
  }
}
