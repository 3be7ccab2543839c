// HDF5 files through h5wasm (libhdf5 compiled to WebAssembly; no native build). Datasets are addressed by
// path ('images', 'grp/mags'); rows are read as hyperslabs so the WASM heap never holds a whole large
// dataset. An HDF5 file is untrusted like any other input:
// - libhdf5 runs with the host's file system, so every file open it makes is checked: it may open the
//   file being imported and nothing else. External links, virtual datasets and external raw-data files
//   (data stored in another file by name) therefore never read another file.
// - The group walk is ours, bounded in depth and in objects (libhdf5's own recursive listing plus a
//   lookup per path took 20 s on 200 nested groups).
// - Output is bounded by the file's real data: a dataset may not declare more bytes than the file could
//   hold (the whole file uncompressed, or deflate's largest ratio for filtered data). Otherwise chunks that
//   were never written would be read as fill values: 130 kB could declare a million samples.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DataError } from '../../errors.js';
import { DEFLATE_MAX_RATIO } from './zip.js';
import { ITEM_SIZE, MAX_STREAMED_BYTES, allocate, checkShape, numel, type ArrayInfo, type DType, type HostArray, type NdArray } from './ndarray.js';
import type { ArraySource } from './source.js';

type H5 = typeof import('h5wasm/node');
type H5File = InstanceType<H5['File']>;
type H5Dataset = InstanceType<H5['Dataset']>;

export const HDF5_MAGIC = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Links visited in one file (groups, datasets and anything else). */
export const MAX_HDF5_OBJECTS = 10_000;
/** Groups nested deeper than this are refused (real files nest a few levels). */
export const MAX_HDF5_DEPTH = 32;
/** Read at most this many bytes per hyperslab: the WASM heap is limited to 2 GiB. */
const SLAB_BYTES = 64 * 1024 * 1024;
/** Filters that never shrink data (shuffle, fletcher32): data behind only these must be in the file as is. */
const NON_COMPRESSING_FILTERS = new Set([2, 3]);

interface H5Module {
  FS: { open: (path: string, flags: unknown, mode?: unknown) => unknown; ErrnoError: new (errno: number) => Error };
  activate_throwing_error_handler(): number;
  get_names(fileId: bigint, path: string, recursive: boolean): string[];
  get_type(fileId: bigint, path: string): number;
  get_symbolic_link(fileId: bigint, path: string): string | null;
  get_external_link(fileId: bigint, path: string): { filename?: string };
  H5G_GROUP: number;
  H5G_DATASET: number;
}

const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_DIRECTORY = 0o200000;
/** Names emscripten's tmpfile() gives its scratch files. */
const TMPFILE = /^\/tmp\/tmpfile_[A-Za-z0-9]{6}$/;

/** Files libhdf5 may open right now (the ones being imported), with how many sources hold each. */
const openable = new Map<string, number>();
/** The last file libhdf5 tried to open and was refused, for the message of the read that failed. */
let refusedOpen: string | undefined;

let loaded: Promise<{ mod: H5; lib: H5Module }> | undefined;

/** Load the WASM module once, on first use (it is not needed by any other command). */
async function h5(): Promise<{ mod: H5; lib: H5Module }> {
  loaded ??= (async () => {
    const mod = await import('h5wasm/node');
    const lib = (await mod.ready) as unknown as H5Module;
    // Turn libhdf5's error stack into exceptions instead of text printed on stderr.
    lib.activate_throwing_error_handler();
    // Every open libhdf5 makes goes through the module's file system: while a file is being imported,
    // allow only the imported files.
    const FS = lib.FS;
    const original = FS.open.bind(FS);
    // The one exception: a new, exclusively created scratch file, which the C library's tmpfile() makes
    // (libhdf5 formats its error stack into one); it cannot read anything that exists.
    FS.open = (path, flags, mode) => {
      const createsNew = typeof flags === 'number' && (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL) && TMPFILE.test(path);
      // While no file is being imported the module is not ours to police (tests write fixtures with it).
      if (openable.size > 0 && !openable.has(path) && !createsNew) {
        // Directory listings (plugin search paths) are refused quietly; a file is what a message names.
        if (typeof flags !== 'number' || (flags & O_DIRECTORY) === 0) refusedOpen = path;
        throw new FS.ErrnoError(2); // EACCES in the module's numbering
      }
      return original(path, flags, mode);
    };
    return { mod, lib };
  })();
  return loaded;
}

/** libhdf5 errors carry a multi-line stack; keep the most specific line. */
function h5Problem(e: unknown): string {
  const lines = String((e as Error)?.message ?? e)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const detail = lines.filter((l) => /^#\d+:/.test(l)).pop();
  const text = detail ? detail.replace(/^#\d+:\s*\S+\s+line\s+\d+\s+in\s+/, '') : (lines[0] ?? 'unknown error');
  return text.slice(0, 200);
}

/** The reason an h5wasm call failed, naming the other file when libhdf5 tried to open one. */
function failure(e: unknown): string {
  const other = refusedOpen;
  refusedOpen = undefined;
  return other !== undefined ? `its data is in another file (${other.slice(0, 200)}); only the file itself is read` : h5Problem(e);
}

function dtypeOf(meta: { type: number; size: number; signed: boolean; vlen?: boolean }): DType | undefined {
  if (meta.vlen) return undefined;
  if (meta.type === 1) return meta.size === 4 ? 'float32' : meta.size === 8 ? 'float64' : undefined;
  if (meta.type === 0) {
    const table: Record<number, [DType, DType]> = { 1: ['int8', 'uint8'], 2: ['int16', 'uint16'], 4: ['int32', 'uint32'], 8: ['int64', 'uint64'] };
    const pair = table[meta.size];
    return pair ? (meta.signed ? pair[0] : pair[1]) : undefined;
  }
  return undefined;
}

interface Found {
  ds: H5Dataset;
  info: ArrayInfo;
}

export class Hdf5Source implements ArraySource {
  readonly format = 'hdf5' as const;
  readonly positional = false;
  readonly arrays: ArrayInfo[] = [];
  readonly details: Record<string, unknown>;
  private readonly datasets = new Map<string, H5Dataset>();
  private closed = false;

  private constructor(
    private readonly f: H5File,
    readonly file: string,
    private readonly fsPath: string,
    skipped: string[],
    found: Map<string, Found>,
  ) {
    for (const [name, { ds, info }] of found) {
      this.datasets.set(name, ds);
      this.arrays.push(info);
    }
    this.details = skipped.length ? { skipped } : {};
  }

  static async open(path: string, file: string = path): Promise<Hdf5Source> {
    const { mod, lib } = await h5();
    const fsPath = resolve(path);
    openable.set(fsPath, (openable.get(fsPath) ?? 0) + 1);
    let f: H5File;
    refusedOpen = undefined;
    try {
      f = new mod.File(fsPath, 'r');
    } catch (e) {
      release(fsPath);
      throw new DataError(file, `not a readable HDF5 file (${failure(e)})`, { cause: e });
    }
    try {
      const size = (await stat(fsPath)).size;
      const { found, skipped, aliases } = walk(mod, lib, f, file);
      checkRealData(found, aliases, size, file);
      return new Hdf5Source(f, file, fsPath, skipped, found);
    } catch (e) {
      f.close();
      release(fsPath);
      throw e;
    }
  }

  async read(name: string, start: number, end: number): Promise<NdArray> {
    const ds = this.datasets.get(name);
    const info = this.arrays.find((a) => a.name === name);
    if (!ds || !info) throw new DataError(this.file, `has no numeric dataset ${name}`);
    if (info.shape.length === 0) throw new DataError(this.file, `dataset ${name} is a scalar, not an array of samples`);
    if (start < 0 || end > info.shape[0]! || start > end) throw new Error(`rows ${start}..${end} outside dataset ${name}`);
    const rowElems = numel(info.shape.slice(1));
    const rowBytes = Math.max(1, rowElems * ITEM_SIZE[info.dtype]);
    const step = Math.max(1, Math.floor(SLAB_BYTES / rowBytes));
    const shape = [end - start, ...info.shape.slice(1)];
    if (end === start) return { dtype: info.dtype, shape, data: allocate(info.dtype, 0) };
    let out: HostArray | undefined;
    for (let r = start; r < end; r += step) {
      const stop = Math.min(end, r + step);
      let slab: unknown;
      refusedOpen = undefined;
      try {
        slab = ds.slice([[r, stop]]);
      } catch (e) {
        throw new DataError(this.file, `cannot read dataset ${name} rows ${r}..${stop} (${failure(e)})`, { cause: e });
      }
      if (!ArrayBuffer.isView(slab) || (slab as HostArray).length !== (stop - r) * rowElems) throw new DataError(this.file, `dataset ${name} returned unexpected data`);
      if (start === r && stop === end) return { dtype: info.dtype, shape, data: slab as HostArray };
      out ??= allocate(info.dtype, (end - start) * rowElems);
      (out as Float32Array).set(slab as Float32Array, (r - start) * rowElems);
    }
    return { dtype: info.dtype, shape, data: out! };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.f.close();
    } finally {
      release(this.fsPath);
    }
  }
}

function release(fsPath: string): void {
  const n = (openable.get(fsPath) ?? 1) - 1;
  if (n > 0) openable.set(fsPath, n);
  else openable.delete(fsPath);
}

/**
 * Walk the groups depth-first, in each group's own order, without following external or soft links into
 * groups (a soft link to a dataset is an alias of it). Bounded by MAX_HDF5_DEPTH and MAX_HDF5_OBJECTS.
 */
function walk(mod: H5, lib: H5Module, f: H5File, file: string): { found: Map<string, Found>; skipped: string[]; aliases: Set<string> } {
  const id = f.file_id;
  const found = new Map<string, Found>();
  const skipped: string[] = [];
  const aliases = new Set<string>();
  let objects = 0;
  const call = <T>(what: string, fn: () => T): T => {
    refusedOpen = undefined;
    try {
      return fn();
    } catch (e) {
      throw new DataError(file, `corrupt HDF5 file: cannot read ${what} (${failure(e)})`, { cause: e });
    }
  };
  const todo: { group: string; depth: number }[] = [{ group: '/', depth: 0 }];
  while (todo.length) {
    const { group, depth } = todo.pop()!;
    const names = call(`group ${group}`, () => lib.get_names(id, group, false));
    if (!Array.isArray(names)) throw new DataError(file, `corrupt HDF5 file: group ${group} has no readable links`);
    objects += names.length;
    if (objects > MAX_HDF5_OBJECTS) throw new DataError(file, `holds more than ${MAX_HDF5_OBJECTS} objects`);
    const subgroups: string[] = [];
    for (const name of names) {
      const full = (group === '/' ? '' : group) + '/' + name;
      const rel = full.slice(1);
      if (typeof call(`link ${rel}`, () => lib.get_external_link(id, full)).filename === 'string') {
        skipped.push(`${rel} (external link)`);
        continue;
      }
      const soft = typeof call(`link ${rel}`, () => lib.get_symbolic_link(id, full)) === 'string';
      const type = call(`link ${rel}`, () => lib.get_type(id, full));
      if (type === lib.H5G_GROUP) {
        if (soft) skipped.push(`${rel} (soft link to a group, not followed)`);
        else if (depth + 1 > MAX_HDF5_DEPTH) throw new DataError(file, `groups nest more than ${MAX_HDF5_DEPTH} levels deep (at ${rel.slice(0, 200)})`);
        else subgroups.push(full);
        continue;
      }
      if (type !== lib.H5G_DATASET) continue;
      const ds = call(`dataset ${rel}`, () => f.get(rel));
      if (!(ds instanceof mod.Dataset)) continue;
      const meta = call(`dataset ${rel}`, () => ds.metadata);
      if (meta.virtual_sources && meta.virtual_sources.length > 0) {
        skipped.push(`${rel} (virtual dataset)`);
        continue;
      }
      const dtype = dtypeOf(meta);
      if (!dtype || !meta.shape) {
        skipped.push(`${rel} (dtype ${String(call(`dataset ${rel}`, () => ds.dtype))})`);
        continue;
      }
      found.set(rel, { ds, info: { name: rel, dtype, shape: checkShape(meta.shape, dtype, file, `dataset ${rel}`, MAX_STREAMED_BYTES) } });
      if (soft) aliases.add(rel);
    }
    for (let i = subgroups.length - 1; i >= 0; i--) todo.push({ group: subgroups[i]!, depth: depth + 1 });
  }
  return { found, skipped, aliases };
}

/** Every numeric dataset together may not declare more than the file's bytes can hold. */
function checkRealData(found: Map<string, Found>, aliases: Set<string>, fileBytes: number, file: string): void {
  let plain = 0;
  let filtered = 0;
  for (const [name, { ds, info }] of found) {
    if (aliases.has(name)) continue;
    const bytes = numel(info.shape) * ITEM_SIZE[info.dtype];
    let filters: { id: number }[];
    refusedOpen = undefined;
    try {
      filters = ds.filters as { id: number }[];
    } catch (e) {
      throw new DataError(file, `corrupt HDF5 file: cannot read the filters of dataset ${name} (${failure(e)})`, { cause: e });
    }
    const compressed = filters.some((x) => !NON_COMPRESSING_FILTERS.has(x.id));
    if (compressed) filtered += bytes;
    else plain += bytes;
    if (plain > fileBytes)
      throw new DataError(file, `dataset ${name} declares ${bytes} bytes of uncompressed data but the whole file is ${fileBytes} bytes; data that was never written (unallocated chunks) is not imported`);
    if (filtered > DEFLATE_MAX_RATIO * fileBytes)
      throw new DataError(file, `dataset ${name} declares ${bytes} bytes, more than ${DEFLATE_MAX_RATIO} times the ${fileBytes}-byte file could hold compressed; data that was never written (unallocated chunks) is not imported`);
  }
}
