// Summaries and verification of data sets and single partition files: the numbers a person checks before
// spending compute on a data set (counts, sizes, tensor layout, redshift and magnitude ranges).
import { BANDS, tensorSpecs, type Manifest } from './manifest.js';
import type { Partition } from './partition.js';
import { checkValues, decodePartition } from './partition.js';
import { CaiError, DataError, oneLine } from '../errors.js';
import { parseSafetensors } from './safetensors.js';
import type { Dataset } from './dataset.js';

export interface RangeSummary {
  min: number;
  max: number;
  median: number;
}

export interface ValueSummary {
  samples: number;
  redshift?: RangeSummary;
  /** Per band u, g, r, i, z. */
  magnitude?: Record<string, RangeSummary>;
  firstObjectId?: string;
  lastObjectId?: string;
}

/** Accumulates redshift and magnitude statistics over partitions, one at a time. */
export class ValueStats {
  private samples = 0;
  private readonly z: Float32Array[] = [];
  private readonly mags: Float32Array[] = [];
  private first?: bigint;
  private last?: bigint;

  add(p: Partition): void {
    if (p.count === 0) return;
    this.samples += p.count;
    if (p.redshift) this.z.push(Float32Array.from(p.redshift));
    this.mags.push(Float32Array.from(p.magnitude));
    this.first ??= p.objectId[0];
    this.last = p.objectId[p.count - 1];
  }

  summary(): ValueSummary {
    const out: ValueSummary = { samples: this.samples };
    if (this.z.length) out.redshift = rangeOf(concat(this.z));
    if (this.mags.length) {
      const all = concat(this.mags);
      const n = all.length / BANDS.length;
      out.magnitude = {};
      BANDS.forEach((band, b) => {
        const col = new Float32Array(n);
        for (let i = 0; i < n; i++) col[i] = all[i * BANDS.length + b]!;
        out.magnitude![band] = rangeOf(col);
      });
    }
    if (this.first !== undefined) out.firstObjectId = this.first.toString();
    if (this.last !== undefined) out.lastObjectId = this.last.toString();
    return out;
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Min, max and median; NaNs are ignored (verification reports them separately). */
function rangeOf(values: Float32Array): RangeSummary {
  const v = values.filter((x) => x === x).sort();
  if (v.length === 0) return { min: NaN, max: NaN, median: NaN };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, max: v[v.length - 1]!, median };
}

/** Duplicate object ids reported one line each (each naming at most this many places); beyond this, one line counts the rest. */
export const MAX_REPORTED_DUPLICATE_IDS = 10;

/**
 * Finds object ids that appear more than once, within a partition or across partitions. Holds two
 * 8-byte copies of every id (one sorted, one in file order to name where each duplicate is), so a data
 * set of 10^7 samples needs 160 MB.
 */
export class DuplicateIds {
  private readonly parts: { file: string; ids: BigInt64Array }[] = [];
  private total = 0;

  add(ids: BigInt64Array, file: string): void {
    this.parts.push({ file, ids: BigInt64Array.from(ids) });
    this.total += ids.length;
  }

  /** One line per duplicated id (naming every file and sample holding it), at most MAX_REPORTED_DUPLICATE_IDS. */
  problems(location: string): string[] {
    const all = new BigInt64Array(this.total);
    let at = 0;
    for (const p of this.parts) {
      all.set(p.ids, at);
      at += p.ids.length;
    }
    all.sort();
    const dups: bigint[] = [];
    let more = 0;
    for (let i = 1; i < all.length; i++) {
      if (all[i] !== all[i - 1] || (i > 1 && all[i - 1] === all[i - 2])) continue;
      if (dups.length < MAX_REPORTED_DUPLICATE_IDS) dups.push(all[i]!);
      else more++;
    }
    if (dups.length === 0) return [];
    const wanted = new Map<bigint, string[]>(dups.map((d) => [d, []]));
    for (const p of this.parts)
      for (let i = 0; i < p.ids.length; i++) {
        const where = wanted.get(p.ids[i]!);
        if (where) where.push(`${p.file} sample ${i}`);
      }
    const lines = dups.map((d) => {
      const where = wanted.get(d)!;
      const first = where[0]!.slice(0, where[0]!.lastIndexOf(' sample '));
      const shown = where.length > MAX_REPORTED_DUPLICATE_IDS ? [...where.slice(0, MAX_REPORTED_DUPLICATE_IDS), `and ${where.length - MAX_REPORTED_DUPLICATE_IDS} more`] : where;
      return `${first}: object id ${d} appears ${where.length} times (${shown.join(', ')})`;
    });
    if (more > 0) lines.push(`${location}: ${more} more object ids appear more than once`);
    return lines;
  }
}

export interface DatasetInspection {
  kind: 'dataset';
  location: string;
  name?: string;
  createdAt?: string;
  labelled: boolean;
  samples: number;
  partitions: number;
  bytes: number;
  tensors: Manifest['tensors'];
  source?: Record<string, unknown>;
  values: ValueSummary;
  /** Present when verification ran: one line per problem, each naming the file. */
  verified?: { ok: boolean; checked: number; problems: string[] };
}

/**
 * Read every partition once for the value ranges. With `verify`, each partition is checked against the
 * manifest (size, sha256, decode, shapes, ids, values within bounds), object ids are checked to be unique
 * across the whole data set, and every problem is collected, not just the first.
 */
export async function inspectDataset(ds: Dataset, opts: { verify?: boolean; onPartition?: (done: number, total: number) => void } = {}): Promise<DatasetInspection> {
  const m = ds.manifest;
  const stats = new ValueStats();
  const problems: string[] = [];
  const ids = opts.verify ? new DuplicateIds() : undefined;
  let done = 0;
  for (const entry of m.partitions) {
    try {
      const p = await ds.readPartition(entry, opts.verify ? { verify: 'sha256', checkValues: true } : { verify: 'size', checkValues: false });
      stats.add(p);
      ids?.add(p.objectId, ds.partitionLocation(entry));
    } catch (e) {
      if (!opts.verify || !(e instanceof CaiError)) throw e;
      problems.push(oneLine(e));
    }
    opts.onPartition?.(++done, m.partitions.length);
  }
  if (ids) problems.push(...ids.problems(ds.location));
  const out: DatasetInspection = {
    kind: 'dataset',
    location: ds.location,
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.createdAt !== undefined ? { createdAt: m.createdAt } : {}),
    labelled: m.labelled,
    samples: m.samples,
    partitions: m.partitions.length,
    bytes: m.bytes,
    tensors: m.tensors,
    ...(m.source !== undefined ? { source: m.source } : {}),
    values: stats.summary(),
  };
  if (opts.verify) out.verified = { ok: problems.length === 0, checked: m.partitions.length, problems };
  return out;
}

export interface PartitionInspection {
  kind: 'partition';
  location: string;
  bytes: number;
  samples: number;
  labelled: boolean;
  tensors: Manifest['tensors'];
  metadata: Record<string, string>;
  values: ValueSummary;
  verified?: { ok: boolean; checked: number; problems: string[] };
}

/** Summarize one partition file's bytes (decoding checks the layout; `verify` adds the value scan and unique ids). */
export function inspectPartitionBytes(bytes: Uint8Array, file: string, opts: { verify?: boolean } = {}): PartitionInspection {
  const p = decodePartition(bytes, file);
  const problems: string[] = [];
  if (opts.verify) {
    try {
      checkValues(p, file);
    } catch (e) {
      problems.push(oneLine(e));
    }
    const ids = new DuplicateIds();
    ids.add(p.objectId, file);
    problems.push(...ids.problems(file));
  }
  const stats = new ValueStats();
  stats.add(p);
  const tensors = tensorSpecs(Boolean(p.redshift));
  const out: PartitionInspection = { kind: 'partition', location: file, bytes: bytes.byteLength, samples: p.count, labelled: Boolean(p.redshift), tensors, metadata: readMetadata(bytes, file), values: stats.summary() };
  if (opts.verify) out.verified = { ok: problems.length === 0, checked: 1, problems };
  return out;
}

/** The safetensors `__metadata__` block (the header was already validated by decodePartition). */
function readMetadata(bytes: Uint8Array, file: string): Record<string, string> {
  return parseSafetensors(bytes, (problem) => new DataError(file, problem)).metadata;
}

function fmtRange(r: RangeSummary, digits: number): string {
  return `${r.min.toFixed(digits)} .. ${r.max.toFixed(digits)}, median ${r.median.toFixed(digits)}`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** Human-readable lines for `cai data inspect`. */
export function formatInspection(x: DatasetInspection | PartitionInspection): string {
  const lines: string[] = [];
  const pad = (k: string): string => k.padEnd(10);
  if (x.kind === 'dataset') {
    lines.push(`${pad('data set')} ${x.location}${x.name ? `  (${x.name})` : ''}`);
    lines.push(`${pad('samples')} ${x.samples} in ${x.partitions} partition${x.partitions === 1 ? '' : 's'}, ${formatBytes(x.bytes)}, ${x.labelled ? 'labelled' : 'unlabelled'}`);
  } else {
    lines.push(`${pad('partition')} ${x.location}`);
    lines.push(`${pad('samples')} ${x.samples}, ${formatBytes(x.bytes)}, ${x.labelled ? 'labelled' : 'unlabelled'}`);
  }
  lines.push(`${pad('tensors')} ${Object.entries(x.tensors).map(([k, t]) => `${k} ${t.dtype} [${t.shape.join(',')}]`).join('; ')}`);
  const v = x.values;
  if (v.redshift) lines.push(`${pad('redshift')} ${fmtRange(v.redshift, 4)}`);
  if (v.magnitude) for (const [band, r] of Object.entries(v.magnitude)) lines.push(`${pad(`mag ${band}`)} ${fmtRange(r, 2)}`);
  if (v.firstObjectId) lines.push(`${pad('object ids')} ${v.firstObjectId} .. ${v.lastObjectId}`);
  if (x.kind === 'dataset' && x.source) {
    const s = x.source;
    const desc = Object.entries(s)
      .filter(([, val]) => typeof val !== 'object')
      .map(([k, val]) => `${k}=${String(val)}`)
      .join(' ');
    if (desc) lines.push(`${pad('source')} ${desc}`);
  }
  if (x.verified) {
    if (x.verified.ok) lines.push(`${pad('verify')} ok: ${x.verified.checked} partition${x.verified.checked === 1 ? '' : 's'} (sizes, sha256, shapes, unique object ids, values within physical bounds)`);
    else {
      lines.push(`${pad('verify')} FAILED: ${x.verified.problems.length} problem${x.verified.problems.length === 1 ? '' : 's'} in ${x.verified.checked} partition${x.verified.checked === 1 ? '' : 's'}`);
      for (const p of x.verified.problems) lines.push(`  ${p}`);
    }
  }
  return lines.join('\n');
}
