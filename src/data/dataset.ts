// A data set: manifest.json plus partition files under the same key prefix, on any Storage. Reading a
// partition verifies it against the manifest; writing cuts partitions at a target size and writes the
// manifest last, so a data set is only visible once every partition it names is complete.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, UsageError } from '../errors.js';
import { openStorage, type Storage } from '../storage/index.js';
import { BANDS, MANIFEST_FILE, MANIFEST_SCHEMA_VERSION, MAX_PARTITION_BYTES, N_BANDS, isSafeRelativePath, parseManifest, tensorSpecs, type Manifest, type PartitionEntry } from './manifest.js';
import { PIXELS_PER_SAMPLE, checkValues, concatPartitions, decodePartition, encodePartition, slicePartition, type Partition } from './partition.js';

/** A manifest of a million partitions is ~250 MB of JSON; refuse anything larger before reading it. */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
/** Where partition files go inside a data set. */
export const PARTITIONS_DIR = 'partitions';
/** Default partition size: the smallest size the CAI paper measured. Sizes use 1 MB = 10^6 bytes. */
export const DEFAULT_PARTITION_BYTES = 25_000_000;

/** Bytes one sample takes in a partition file (tensor data only; the header adds a few hundred per file). */
export function bytesPerSample(labelled: boolean): number {
  return PIXELS_PER_SAMPLE * 4 + N_BANDS * 4 + (labelled ? 4 : 0) + 8;
}

/** Room left for the safetensors header when sizing a partition by bytes. */
const HEADER_ALLOWANCE = 1024;

/** How many samples fit a partition of `targetBytes` (at least one). */
export function samplesForPartitionBytes(targetBytes: number, labelled: boolean): number {
  return Math.max(1, Math.floor((targetBytes - HEADER_ALLOWANCE) / bytesPerSample(labelled)));
}

/** The relative path of partition `index` inside a data set. */
export function partitionPath(index: number): string {
  return `${PARTITIONS_DIR}/part-${String(index).padStart(5, '0')}.safetensors`;
}

export { tensorSpecs } from './manifest.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A readable name for an object: a file path for local storage, a URL otherwise. */
export function describeKey(storage: Storage, key: string): string {
  if (storage.location.startsWith('file://')) {
    const root = fileURLToPath(storage.location);
    return key === '' ? root : `${root.replace(/\/$/, '')}/${key}`;
  }
  return `${storage.location.replace(/\/$/, '')}/${key}`;
}

/** Join a base prefix ('' or 'a/b/') and a manifest-relative path, refusing any path that could escape. */
export function dataKey(baseKey: string, relPath: string, fileForErrors: string): string {
  if (!isSafeRelativePath(relPath)) throw new DataError(fileForErrors, `unsafe partition path "${relPath}" (must be relative and stay inside the data set)`);
  return baseKey + relPath;
}

export interface ReadPartitionOptions {
  /** 'sha256' (default) hashes every byte; 'size' trusts the file once its size matches. */
  verify?: 'sha256' | 'size';
  /** Scan for NaN/Infinity and values outside the physical bounds (default true). */
  checkValues?: boolean;
}

export class Dataset {
  readonly manifest: Manifest;
  readonly storage: Storage;
  /** '' or 'some/prefix/': where manifest.json lives. */
  readonly baseKey: string;
  /** For messages, e.g. '/abs/dir/manifest.json' or 's3://b/p/manifest.json'. */
  readonly location: string;

  constructor(manifest: Manifest, storage: Storage, baseKey: string, location: string) {
    this.manifest = manifest;
    this.storage = storage;
    this.baseKey = baseKey;
    this.location = location;
  }

  partitionKey(entry: PartitionEntry): string {
    return dataKey(this.baseKey, entry.path, this.location);
  }

  partitionLocation(entry: PartitionEntry): string {
    // Never build a location from an unchecked path either: messages should not point outside the data set.
    return describeKey(this.storage, this.partitionKey(entry));
  }

  /**
   * Fetch + verify (size vs manifest before download; sha256 unless verify==='size'; decode; sample count;
   * object ids first/last; finite values within VALUE_BOUNDS unless checkValues false). Errors are DataError naming the partition file.
   */
  async readPartition(entry: PartitionEntry, opts: ReadPartitionOptions = {}): Promise<Partition> {
    const key = this.partitionKey(entry);
    const file = describeKey(this.storage, key);
    if (entry.bytes > MAX_PARTITION_BYTES) throw new DataError(file, `is listed as ${entry.bytes} bytes, more than the ${MAX_PARTITION_BYTES}-byte limit`);
    const info = await this.storage.head(key);
    if (!info) throw new DataError(file, 'missing (listed in the manifest but not found)');
    if (info.size !== entry.bytes) throw new DataError(file, `is ${info.size} bytes but the manifest says ${entry.bytes}${info.size < entry.bytes ? ' (truncated)' : ''}`);
    let bytes: Uint8Array;
    try {
      bytes = await this.storage.get(key, { maxBytes: entry.bytes });
    } catch (e) {
      if (e instanceof DataError) throw new DataError(file, e.message.startsWith(e.file) ? e.message.slice(e.file.length + 2) : e.message, { cause: e });
      throw e;
    }
    if (bytes.byteLength !== entry.bytes) throw new DataError(file, `is ${bytes.byteLength} bytes but the manifest says ${entry.bytes} (changed while reading)`);
    if (opts.verify !== 'size') {
      const digest = sha256Hex(bytes);
      if (digest !== entry.sha256) throw new DataError(file, `sha256 mismatch: file has ${digest}, manifest says ${entry.sha256}`);
    }
    const p = decodePartition(bytes, file);
    checkAgainstEntry(p, entry, this.manifest, file);
    if (opts.checkValues !== false) checkValues(p, file);
    return p;
  }
}

/** The checks that tie a decoded partition to its manifest entry. */
export function checkAgainstEntry(p: Partition, entry: PartitionEntry, manifest: Manifest, file: string): void {
  if (p.count !== entry.samples) throw new DataError(file, `holds ${p.count} samples but the manifest says ${entry.samples}`);
  if (manifest.labelled && !p.redshift) throw new DataError(file, 'has no redshift tensor but the data set is labelled');
  if (!manifest.labelled && p.redshift) throw new DataError(file, "has a redshift tensor but the manifest's tensor spec (an unlabelled data set) has none");
  if (p.count > 0) {
    const first = p.objectId[0]!.toString();
    const last = p.objectId[p.count - 1]!.toString();
    if (entry.firstObjectId !== undefined && first !== entry.firstObjectId) throw new DataError(file, `first object id is ${first} but the manifest says ${entry.firstObjectId}`);
    if (entry.lastObjectId !== undefined && last !== entry.lastObjectId) throw new DataError(file, `last object id is ${last} but the manifest says ${entry.lastObjectId}`);
  }
}

/** A manifest as read from storage: parsed, with the digest of its bytes and where it lives. */
export interface StoredManifest {
  manifest: Manifest;
  /** sha256 of the manifest's bytes: what a plan records to notice a changed data set. */
  sha256: string;
  /** For messages, e.g. '/abs/dir/manifest.json' or 's3://b/p/manifest.json'. */
  location: string;
  /** '' or 'some/prefix/': where the manifest's partition paths start. */
  baseKey: string;
}

/** Fetch, hash and parse a manifest: the one place a manifest is read from storage. */
export async function readManifest(storage: Storage, manifestKey: string = MANIFEST_FILE): Promise<StoredManifest> {
  const location = describeKey(storage, manifestKey);
  if (!isSafeRelativePath(manifestKey)) throw new DataError(manifestKey, 'unsafe manifest key (must be a relative path)');
  const bytes = await storage.get(manifestKey, { maxBytes: MAX_MANIFEST_BYTES });
  const manifest = parseManifest(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), location);
  const slash = manifestKey.lastIndexOf('/');
  return { manifest, sha256: sha256Hex(bytes), location, baseKey: slash < 0 ? '' : manifestKey.slice(0, slash + 1) };
}

/**
 * Open a data set. With `expectSha256` (the digest a plan recorded), a manifest that changed since is a
 * DataError: the partitions a plan assigned may no longer be the ones listed.
 */
export async function openDataset(storage: Storage, manifestKey: string = MANIFEST_FILE, opts: { expectSha256?: string } = {}): Promise<Dataset> {
  const m = await readManifest(storage, manifestKey);
  if (opts.expectSha256 !== undefined && m.sha256 !== opts.expectSha256) throw new DataError(m.location, 'changed since this run was planned; start a new run id');
  return new Dataset(m.manifest, storage, m.baseKey, m.location);
}

/** Path to a data set directory or its manifest.json (local). */
export async function openLocalDataset(pathToDirOrManifest: string): Promise<Dataset> {
  const abs = resolve(pathToDirOrManifest);
  let isDir: boolean;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch {
    throw new DataError(abs, 'not found (expected a data set directory or its manifest.json)');
  }
  const dir = isDir ? abs : dirname(abs);
  const name = isDir ? MANIFEST_FILE : basename(abs);
  return openDataset(openStorage(dir), name);
}

export interface DatasetWriterOptions {
  name?: string;
  labelled: boolean;
  /** Samples per partition; wins over partitionBytes. */
  partitionSamples?: number;
  /** Target partition file size in bytes (default 25 MB). */
  partitionBytes?: number;
  source?: Record<string, unknown>;
  /** Write through this storage; `outDir` is then a key prefix inside it ('' for its root). */
  storage?: Storage;
  /** Replace a data set already at the output (its manifest is removed first, stale partitions after). */
  overwrite?: boolean;
  /** Extra safetensors metadata stored in every partition header. */
  metadata?: Record<string, string>;
}

export class DatasetWriter {
  private readonly pending: Partition[] = [];
  private pendingCount = 0;
  private readonly entries: PartitionEntry[] = [];
  private finished = false;
  private samples = 0;
  private bytes = 0;

  private constructor(
    readonly storage: Storage,
    readonly baseKey: string,
    readonly perPartition: number,
    private readonly opts: DatasetWriterOptions,
    private readonly stale: Set<string>,
  ) {}

  /**
   * Prepare to write a data set. Refuses an output that already holds a data set (a manifest.json or
   * files under partitions/) unless `overwrite` is set; other files in the directory are left alone.
   */
  static async create(outDir: string, opts: DatasetWriterOptions): Promise<DatasetWriter> {
    let storage: Storage;
    let baseKey: string;
    if (opts.storage) {
      storage = opts.storage;
      const trimmed = outDir.replace(/^\/+|\/+$/g, '');
      if (trimmed !== '' && !isSafeRelativePath(trimmed)) throw new UsageError(`output prefix "${outDir}" must be a relative key prefix`);
      baseKey = trimmed === '' ? '' : trimmed + '/';
    } else {
      storage = openStorage(outDir);
      baseKey = '';
    }
    const perPartition = opts.partitionSamples ?? samplesForPartitionBytes(opts.partitionBytes ?? DEFAULT_PARTITION_BYTES, opts.labelled);
    if (!Number.isSafeInteger(perPartition) || perPartition < 1) throw new UsageError(`partition size must be at least one sample, got ${perPartition}`);
    if (opts.partitionBytes !== undefined && !(opts.partitionBytes > 0)) throw new UsageError(`partition size in bytes must be positive, got ${opts.partitionBytes}`);

    const manifestKey = baseKey + MANIFEST_FILE;
    const existingManifest = await storage.head(manifestKey);
    const existingParts = await storage.list(baseKey + PARTITIONS_DIR + '/');
    if ((existingManifest || existingParts.length > 0) && !opts.overwrite)
      throw new UsageError(`${describeKey(storage, baseKey)} already holds a data set (${existingManifest ? MANIFEST_FILE : `${existingParts.length} partition files`}); choose another output or overwrite it (--overwrite)`);
    // Remove the old manifest first so nobody reads it while its partitions are being replaced.
    if (existingManifest) await storage.delete(manifestKey);
    return new DatasetWriter(storage, baseKey, perPartition, opts, new Set(existingParts.map((o) => o.key)));
  }

  /** Where the manifest will be, for messages. */
  get location(): string {
    return describeKey(this.storage, this.baseKey + MANIFEST_FILE);
  }

  /** Partitions written so far. */
  get partitionsWritten(): number {
    return this.entries.length;
  }

  get samplesWritten(): number {
    return this.samples;
  }

  /** Append samples; cuts partitions at the target size (samples or bytes); each partition file is written atomically, with sha256. */
  async append(p: Partition): Promise<void> {
    if (this.finished) throw new Error('DatasetWriter.append after finish');
    if (this.opts.labelled && !p.redshift) throw new DataError(this.location, 'a labelled data set needs redshifts for every sample');
    let part: Partition = this.opts.labelled ? p : { ...p, redshift: undefined };
    while (part.count > 0) {
      const room = this.perPartition - this.pendingCount;
      const take = Math.min(room, part.count);
      this.pending.push(take === part.count ? part : slicePartition(part, 0, take));
      this.pendingCount += take;
      part = take === part.count ? slicePartition(part, 0, 0) : slicePartition(part, take, part.count);
      if (this.pendingCount === this.perPartition) await this.flush();
    }
  }

  /** Writes the last partition, then manifest.json last and atomically; returns it. */
  async finish(): Promise<Manifest> {
    if (this.finished) throw new Error('DatasetWriter.finish called twice');
    if (this.pendingCount > 0) await this.flush();
    this.finished = true;
    const manifest: Manifest = {
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      ...(this.opts.name !== undefined ? { name: this.opts.name } : {}),
      createdAt: new Date().toISOString(),
      bands: [...BANDS],
      labelled: this.opts.labelled,
      format: 'safetensors',
      tensors: tensorSpecs(this.opts.labelled),
      samples: this.samples,
      bytes: this.bytes,
      partitions: this.entries,
      ...(this.opts.source !== undefined ? { source: this.opts.source } : {}),
    };
    await this.storage.put(this.baseKey + MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
    for (const key of this.stale) await this.storage.delete(key);
    return manifest;
  }

  private async flush(): Promise<void> {
    const p = this.pending.length === 1 ? this.pending[0]! : concatPartitions(this.pending);
    this.pending.length = 0;
    this.pendingCount = 0;
    const index = this.entries.length;
    const path = partitionPath(index);
    const bytes = encodePartition(p, { partition: String(index), ...(this.opts.metadata ?? {}) });
    const key = this.baseKey + path;
    await this.storage.put(key, bytes);
    this.stale.delete(key);
    this.entries.push({
      path,
      samples: p.count,
      bytes: bytes.byteLength,
      sha256: sha256Hex(bytes),
      firstObjectId: p.objectId[0]!.toString(),
      lastObjectId: p.objectId[p.count - 1]!.toString(),
    });
    this.samples += p.count;
    this.bytes += bytes.byteLength;
  }
}
