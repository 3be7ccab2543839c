// Importers from foreign formats to the native partition: PyTorch zip checkpoints (the original CAI
// `1.pt`, `2.pt`, ... partitions), NumPy .npy/.npz (or a directory of .npy files) and HDF5.
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { DataError } from '../../errors.js';
import type { Partition } from '../partition.js';
import { Hdf5Source, HDF5_MAGIC } from './hdf5.js';
import { readMapped, resolveMapping, type ArrayMapping, type ImportOptions } from './mapping.js';
import { NPY_MAGIC, NpyDirSource, NpySource, NpzSource } from './npy.js';
import type { ArraySource, ImportFormat } from './source.js';
import { TorchSource } from './torch.js';
import { ZipArchive } from './zip.js';

export type { ArraySource, ImportFormat } from './source.js';
export type { ArrayMapping, ImportOptions, KeyMap, Role } from './mapping.js';
export { COMMON_NAMES, NONE_KEY, ROLES, parseKeys, resolveMapping, readMapped } from './mapping.js';
export type { ArrayInfo, DType, NdArray } from './ndarray.js';

/** File name endings the importers recognise (a directory of .npy files is accepted too). */
export const IMPORT_EXTENSIONS = ['.pt', '.pth', '.npy', '.npz', '.h5', '.hdf5', '.he5'] as const;

const ZIP_MAGIC = [0x50, 0x4b]; // "PK": local header or an empty archive's end record
// torch.save before 1.6 wrote a bare pickle starting with PROTO 2 and LONG1 of a fixed magic number.
const LEGACY_TORCH_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function startsWith(bytes: Uint8Array, magic: ArrayLike<number>): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

async function head(path: string, n: number): Promise<Uint8Array> {
  const fh = await openFile(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Open a foreign file as named arrays; the format comes from its magic bytes (then its extension). */
export async function openImportSource(path: string): Promise<ArraySource> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new DataError(path, 'not found');
  }
  if (info.isDirectory()) return NpyDirSource.open(path, path);
  if (!info.isFile()) throw new DataError(path, 'is not a regular file');
  const magic = await head(path, 16);
  const ext = extname(path).toLowerCase();
  if (startsWith(magic, ZIP_MAGIC)) {
    const zip = await ZipArchive.open(path, path);
    const isTorch = [...zip.entries.keys()].some((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (isTorch || ext === '.pt' || ext === '.pth') return TorchSource.fromZip(zip, path);
    return NpzSource.fromZip(zip, path);
  }
  if (startsWith(magic, NPY_MAGIC)) return NpySource.open(path, path);
  if (startsWith(magic, HDF5_MAGIC) || ext === '.h5' || ext === '.hdf5' || ext === '.he5') return Hdf5Source.open(path, path);
  if (startsWith(magic, LEGACY_TORCH_MAGIC))
    throw new DataError(path, 'is a legacy (pre-1.6, non-zip) torch.save file, which is not supported; re-save it with PyTorch >= 1.6 (torch.save writes zip archives by default)');
  if (magic[0] === 0x80) throw new DataError(path, 'is a bare pickle; only PyTorch zip checkpoints are read (pickles can run code, so they are never loaded as such)');
  if (magic.length >= 8 && ext === '.safetensors') throw new DataError(path, 'is already a native partition (safetensors); it needs no import');
  throw new DataError(path, `unrecognised format (expected a PyTorch .pt zip, .npy, .npz, HDF5 .h5/.hdf5, or a directory of .npy files)`);
}

/** An opened, mapped foreign file, read in sample ranges. */
export interface ImportReader {
  readonly source: ArraySource;
  readonly mapping: ArrayMapping;
  readonly samples: number;
  readonly labelled: boolean;
  /** Samples [start, end) as a native partition. */
  read(start: number, end: number): Promise<Partition>;
  close(): Promise<void>;
}

/** resolveMapping, with a hint for the one case that can never map: a lone .npy holds one array. */
function mapSource(source: ArraySource, opts: ImportOptions): ArrayMapping {
  try {
    return resolveMapping(source, opts);
  } catch (e) {
    if (source.format === 'npy' && e instanceof DataError)
      throw new DataError(source.file, `a single .npy holds one array (${source.arrays[0]?.name}); put the arrays in one .npz or in a directory of .npy files and import that`);
    throw e;
  }
}

export async function openImport(path: string, opts: ImportOptions = {}): Promise<ImportReader> {
  const source = await openImportSource(path);
  try {
    const mapping = mapSource(source, opts);
    const idBase = opts.idBase ?? 0n;
    return {
      source,
      mapping,
      samples: mapping.samples,
      labelled: mapping.redshift !== undefined,
      read: (start, end) => {
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > mapping.samples || start > end)
          throw new RangeError(`samples ${start}..${end} are outside 0..${mapping.samples}`);
        return readMapped(source, mapping, start, end, idBase);
      },
      close: () => source.close(),
    };
  } catch (e) {
    await source.close();
    throw e;
  }
}

/** Read a whole foreign file as one native partition. */
export async function readImportFile(path: string, opts: ImportOptions = {}): Promise<Partition> {
  const reader = await openImport(path, opts);
  try {
    return await reader.read(0, reader.samples);
  } finally {
    await reader.close();
  }
}

/** What `cai data inspect` reports about a foreign file. */
export interface ImportInspection {
  kind?: 'foreign';
  file: string;
  format: ImportFormat;
  /** File size; absent for a directory of .npy files. */
  bytes?: number;
  arrays: { name: string; dtype: string; shape: number[] }[];
  details?: Record<string, unknown>;
  /** The mapping an import would use, or null with the reason in `mappingProblem`. */
  mapping: ArrayMapping | null;
  mappingProblem?: string;
  samples?: number;
  labelled?: boolean;
  /** With verification: every sample read through the mapping, values checked to be finite. */
  verified?: { ok: boolean; checked: number; problems: string[] };
}

/**
 * Describe a foreign file without reading its data: format, arrays (dtype, shape), the mapping an import
 * would use (or why none fits), and format details.
 */
export async function inspectImportFile(path: string, opts: ImportOptions = {}): Promise<ImportInspection> {
  const source = await openImportSource(path);
  try {
    const out: ImportInspection = {
      file: path,
      format: source.format,
      ...(source.format === 'npy-dir' ? {} : { bytes: (await stat(path)).size }),
      arrays: source.arrays.map((a) => ({ name: a.name, dtype: a.dtype, shape: [...a.shape] })),
      ...(Object.keys(source.details).length ? { details: source.details } : {}),
      mapping: null,
    };
    try {
      const mapping = mapSource(source, opts);
      out.mapping = mapping;
      out.samples = mapping.samples;
      out.labelled = mapping.redshift !== undefined;
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      out.mappingProblem = e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
    }
    return out;
  } finally {
    await source.close();
  }
}

/** Samples read per step when verifying: about 64 MB of image data. */
const VERIFY_CHUNK_SAMPLES = 3000;

/**
 * Read every sample of a foreign file through the mapping an import would use and check the values are
 * finite. Problems (one line each, naming the file) are collected, not thrown; an unmappable file is one.
 */
export async function verifyImportFile(path: string, opts: ImportOptions = {}, onProgress?: (done: number, total: number) => void): Promise<{ ok: boolean; checked: number; problems: string[] }> {
  const problems: string[] = [];
  let reader: ImportReader;
  try {
    reader = await openImport(path, opts);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return { ok: false, checked: 0, problems: [e.message] };
  }
  let checked = 0;
  try {
    for (let s = 0; s < reader.samples; s += VERIFY_CHUNK_SAMPLES) {
      const e = Math.min(reader.samples, s + VERIFY_CHUNK_SAMPLES);
      try {
        // Reading checks every value (finite, within the physical bounds) and names the sample.
        await reader.read(s, e);
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        problems.push(err.message);
      }
      checked = e;
      onProgress?.(checked, reader.samples);
    }
  } finally {
    await reader.close();
  }
  return { ok: problems.length === 0, checked, problems };
}

const shapeText = (s: readonly number[]): string => `[${s.join(',')}]`;

/** Human-readable lines for `cai data inspect` on a foreign file. */
export function formatImportInspection(x: ImportInspection): string {
  const pad = (k: string): string => k.padEnd(10);
  const size = x.bytes === undefined ? '' : `, ${x.bytes >= 1e6 ? `${(x.bytes / 1e6).toFixed(1)} MB` : x.bytes >= 1e3 ? `${(x.bytes / 1e3).toFixed(1)} kB` : `${x.bytes} B`}`;
  const lines = [`${pad('file')} ${x.file}`, `${pad('format')} ${x.format}${size}`];
  for (const [k, v] of Object.entries(x.details ?? {})) {
    const text = Array.isArray(v) ? v.map(String).join(', ') || '(none)' : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    lines.push(`${pad(k)} ${text}`);
  }
  lines.push(`${pad('arrays')} ${x.arrays.length === 0 ? '(none)' : ''}`.trimEnd());
  const width = Math.max(0, ...x.arrays.map((a) => a.name.length));
  for (const a of x.arrays) lines.push(`  ${a.name.padEnd(width)}  ${a.dtype.padEnd(8)} ${shapeText(a.shape)}`);
  const m = x.mapping;
  if (!m) {
    lines.push(`${pad('import')} not possible as it is: ${x.mappingProblem ?? 'no mapping'}`);
    return lines.join('\n');
  }
  lines.push(`${pad('import')} ${m.samples} samples, ${m.redshift ? 'labelled' : 'unlabelled'}`);
  const role = (name: string, r: { array: string; dtype: string; shape: number[] }, extra = ''): string => `  ${name.padEnd(10)} <- ${r.array} ${r.dtype} ${shapeText(r.shape)}${extra}`;
  lines.push(role('image', m.image, ` (${m.image.layout})`));
  lines.push(role('magnitude', m.magnitude));
  lines.push(m.redshift ? role('redshift', m.redshift) : `  ${'redshift'.padEnd(10)} (none: unlabelled)`);
  lines.push('array' in m.objectId ? role('object_id', m.objectId) : `  ${'object_id'.padEnd(10)} sequential from ${m.objectId.sequentialFrom}`);
  if (m.unused.length) lines.push(`  ${'unused'.padEnd(10)} ${m.unused.join(', ')}`);
  const v = x.verified;
  if (v) {
    if (v.ok) lines.push(`${pad('verify')} ok: ${v.checked} samples read, every value finite`);
    else {
      lines.push(`${pad('verify')} FAILED: ${v.problems.length} problem${v.problems.length === 1 ? '' : 's'} in ${v.checked} samples read`);
      for (const p of v.problems) lines.push(`  ${p}`);
    }
  }
  return lines.join('\n');
}

/** True when `path` looks like a file the importers read (by extension, or a directory of .npy files). */
export async function isImportable(path: string): Promise<boolean> {
  const ext = extname(path).toLowerCase();
  if ((IMPORT_EXTENSIONS as readonly string[]).includes(ext)) return true;
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = await readdir(path);
      return !names.includes('manifest.json') && names.some((n) => n.toLowerCase().endsWith('.npy'));
    }
    if (!info.isFile()) return false;
    const magic = await head(path, 8);
    return startsWith(magic, NPY_MAGIC) || startsWith(magic, HDF5_MAGIC) || startsWith(magic, ZIP_MAGIC);
  } catch {
    return false;
  }
}
