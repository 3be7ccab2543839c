// HDF5 files through h5wasm (libhdf5 compiled to WebAssembly; no native build). Datasets are addressed by
// path ('images', 'grp/mags'); rows are read as hyperslabs so the WASM heap never holds a whole large
// dataset. Links that lead out of the file (external links, virtual datasets) are refused.
import { resolve } from 'node:path';
import { DataError } from '../../errors.js';
import { ITEM_SIZE, MAX_STREAMED_BYTES, allocate, checkShape, numel, type ArrayInfo, type DType, type HostArray, type NdArray } from './ndarray.js';
import type { ArraySource } from './source.js';

type H5 = typeof import('h5wasm/node');
type H5File = InstanceType<H5['File']>;
type H5Dataset = InstanceType<H5['Dataset']>;

export const HDF5_MAGIC = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_DATASETS = 10_000;
/** Read at most this many bytes per hyperslab: the WASM heap is limited to 2 GiB. */
const SLAB_BYTES = 64 * 1024 * 1024;

let loaded: Promise<H5> | undefined;

/** Load the WASM module once, on first use (it is not needed by any other command). */
async function h5(): Promise<H5> {
  loaded ??= (async () => {
    const mod = await import('h5wasm/node');
    const Module = await mod.ready;
    // Turn libhdf5's error stack into exceptions instead of text printed on stderr.
    (Module as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
    return mod;
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

export class Hdf5Source implements ArraySource {
  readonly format = 'hdf5' as const;
  readonly positional = false;
  readonly arrays: ArrayInfo[] = [];
  readonly details: Record<string, unknown>;
  private readonly datasets = new Map<string, H5Dataset>();

  private constructor(
    private readonly f: H5File,
    readonly file: string,
    skipped: string[],
    found: Map<string, { ds: H5Dataset; info: ArrayInfo }>,
  ) {
    for (const [name, { ds, info }] of found) {
      this.datasets.set(name, ds);
      this.arrays.push(info);
    }
    this.details = skipped.length ? { skipped } : {};
  }

  static async open(path: string, file: string = path): Promise<Hdf5Source> {
    const mod = await h5();
    let f: H5File;
    try {
      f = new mod.File(resolve(path), 'r');
    } catch (e) {
      throw new DataError(file, `not a readable HDF5 file (${h5Problem(e)})`, { cause: e });
    }
    try {
      const Module = mod.Module as unknown as { get_external_link(id: bigint, p: string): { filename?: string } };
      let paths: string[];
      try {
        paths = f.paths();
      } catch (e) {
        throw new DataError(file, `corrupt HDF5 file (${h5Problem(e)})`, { cause: e });
      }
      if (paths.length > MAX_DATASETS) throw new DataError(file, `holds ${paths.length} objects (at most ${MAX_DATASETS})`);
      const external = paths.filter((p) => typeof Module.get_external_link(f.file_id, '/' + p).filename === 'string');
      const outside = (p: string): boolean => external.some((x) => p === x || p.startsWith(x + '/'));
      const skipped: string[] = external.map((p) => `${p} (external link)`);
      const found = new Map<string, { ds: H5Dataset; info: ArrayInfo }>();
      for (const p of paths) {
        if (outside(p)) continue;
        let entity: unknown;
        try {
          entity = f.get(p);
        } catch (e) {
          throw new DataError(file, `cannot open ${p} (${h5Problem(e)})`, { cause: e });
        }
        if (!(entity instanceof mod.Dataset)) continue;
        const meta = entity.metadata;
        if (meta.virtual_sources && meta.virtual_sources.length > 0) {
          skipped.push(`${p} (virtual dataset)`);
          continue;
        }
        const dtype = dtypeOf(meta);
        if (!dtype || !meta.shape) {
          skipped.push(`${p} (dtype ${String(entity.dtype)})`);
          continue;
        }
        found.set(p, { ds: entity, info: { name: p, dtype, shape: checkShape(meta.shape, dtype, file, `dataset ${p}`, MAX_STREAMED_BYTES) } });
      }
      return new Hdf5Source(f, file, skipped, found);
    } catch (e) {
      f.close();
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
      try {
        slab = ds.slice([[r, stop]]);
      } catch (e) {
        throw new DataError(this.file, `cannot read dataset ${name} rows ${r}..${stop} (${h5Problem(e)})`, { cause: e });
      }
      if (!ArrayBuffer.isView(slab) || (slab as HostArray).length !== (stop - r) * rowElems) throw new DataError(this.file, `dataset ${name} returned unexpected data`);
      if (start === r && stop === end) return { dtype: info.dtype, shape, data: slab as HostArray };
      out ??= allocate(info.dtype, (end - start) * rowElems);
      (out as Float32Array).set(slab as Float32Array, (r - start) * rowElems);
    }
    return { dtype: info.dtype, shape, data: out! };
  }

  async close(): Promise<void> {
    this.f.close();
  }
}
