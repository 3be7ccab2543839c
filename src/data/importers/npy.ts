// NumPy .npy arrays, alone, inside an .npz (a zip of .npy files) or as a directory of .npy files.
// The header is a Python dict literal; it is parsed by a small tokenizer, never evaluated. Only plain
// numeric dtypes are accepted (object arrays would need pickle).
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { DataError } from '../../errors.js';
import { ITEM_SIZE, MAX_ARRAY_BYTES, MAX_STREAMED_BYTES, checkShape, formatShape, fortranStrides, fromBytes, gatherStrided, numel, sliceRows, type ArrayInfo, type DType, type NdArray } from './ndarray.js';
import type { ArraySource } from './source.js';
import { ZipArchive } from './zip.js';

export const NPY_MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** numpy itself refuses headers over 10000 bytes by default; allow some room, no more. */
export const MAX_NPY_HEADER = 65536;
/** Enough to read the magic, version and header length. */
const PREAMBLE = 12;
const MAX_DIR_FILES = 1000;

export interface NpyHeader {
  dtype: DType;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data from the start of the .npy. */
  dataOffset: number;
  /** The descr string as written, e.g. '<f4'. */
  descr: string;
}

type Literal = string | number | boolean | null | Literal[] | { [k: string]: Literal };

/** Parse a Python literal made of dicts, tuples/lists, strings, ints, True/False/None. */
export function parsePyLiteral(text: string, file: string): Literal {
  let i = 0;
  const fail = (problem: string): never => {
    throw new DataError(file, `npy header: ${problem} at character ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (depth: number): Literal => {
    if (depth > 8) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: { [k: string]: Literal } = {};
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return out;
        }
        const k = value(depth + 1);
        if (typeof k !== 'string') fail('dictionary key is not a string');
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        if (Object.prototype.hasOwnProperty.call(out, k as string)) fail(`duplicate key "${k as string}"`);
        out[k as string] = value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail('expected "," or "}"');
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const out: Literal[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return out;
        }
        out.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      if (s.includes('\\')) fail('escapes in strings are not supported');
      i = end + 1;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)/.exec(text.slice(i, i + 32));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    if (m[2] === 'True') return true;
    if (m[2] === 'False') return false;
    if (m[2] === 'None') return null;
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) fail(`integer ${m[1]} is out of range`);
    return n;
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

const KIND: Record<string, Partial<Record<number, DType>>> = {
  f: { 2: 'float16', 4: 'float32', 8: 'float64' },
  i: { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' },
  u: { 1: 'uint8', 2: 'uint16', 4: 'uint32', 8: 'uint64' },
  b: { 1: 'bool' },
};

export function parseDescr(descr: string, file: string): { dtype: DType; littleEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const dtype = m ? KIND[m[2]!]?.[Number(m[3])] : undefined;
  if (!m || !dtype) {
    if (descr.includes('O')) throw new DataError(file, `holds Python objects (dtype ${descr}); only numeric arrays can be imported`);
    throw new DataError(file, `unsupported dtype ${descr} (supported: float16/32/64, signed and unsigned integers, bool)`);
  }
  // '=' is native order; every platform numpy writes on in practice is little-endian.
  return { dtype, littleEndian: m[1] !== '>' };
}

/** Parse the preamble and header dict of a .npy given at least its first bytes. */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || !NPY_MAGIC.every((b, i) => bytes[i] === b)) throw new DataError(file, 'not a .npy array (bad magic)');
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(file, 'truncated .npy header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else throw new DataError(file, `unsupported .npy format version ${major}.${bytes[7]}`);
  if (headerLen > MAX_NPY_HEADER) throw new DataError(file, `.npy header of ${headerLen} bytes exceeds the ${MAX_NPY_HEADER}-byte limit`);
  if (bytes.length < start + headerLen) throw new DataError(file, 'truncated .npy header');
  const text = Buffer.from(bytes.subarray(start, start + headerLen)).toString(major === 3 ? 'utf8' : 'latin1');
  const dict = parsePyLiteral(text.trim(), file);
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) throw new DataError(file, 'npy header is not a dictionary');
  const { descr, fortran_order, shape } = dict;
  if (typeof descr !== 'string') throw new DataError(file, `unsupported dtype ${JSON.stringify(descr)} (structured arrays cannot be imported)`);
  if (typeof fortran_order !== 'boolean') throw new DataError(file, 'npy header lacks fortran_order');
  if (!Array.isArray(shape)) throw new DataError(file, 'npy header lacks a shape tuple');
  const { dtype, littleEndian } = parseDescr(descr, file);
  return { dtype, littleEndian, fortranOrder: fortran_order, shape: checkShape(shape, dtype, file, 'array', MAX_STREAMED_BYTES), dataOffset: start + headerLen, descr };
}

/** Bytes needed to read the full header, given the first PREAMBLE bytes. */
function headerSpan(pre: Uint8Array, file: string): number {
  if (pre.length < 10 || !NPY_MAGIC.every((b, i) => pre[i] === b)) throw new DataError(file, 'not a .npy array (bad magic)');
  if (pre[6]! < 1 || pre[6]! > 3) throw new DataError(file, `unsupported .npy format version ${pre[6]}.${pre[7]}`);
  const dv = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  const len = pre[6] === 1 ? 10 + dv.getUint16(8, true) : pre.length >= 12 ? 12 + dv.getUint32(8, true) : Infinity;
  if (len > MAX_NPY_HEADER + 12) throw new DataError(file, `.npy header exceeds the ${MAX_NPY_HEADER}-byte limit`);
  return len;
}

/** Where one .npy's bytes live: a file, or an entry of an .npz. */
interface ByteSource {
  size: number;
  /** Bytes [start, end); a compressed entry is read forward (an earlier range restarts inflation). */
  range(start: number, end: number): Promise<Uint8Array>;
  all(): Promise<Uint8Array>;
}

/** One array in .npy layout with its header checked against the bytes available. */
class NpyArray {
  private whole?: NdArray;
  constructor(
    readonly name: string,
    readonly header: NpyHeader,
    private readonly bytes: ByteSource,
    private readonly file: string,
  ) {
    const need = numel(header.shape) * ITEM_SIZE[header.dtype];
    const have = bytes.size - header.dataOffset;
    if (have !== need) throw new DataError(file, `array ${name} has ${have} bytes of data but its shape ${formatShape(header.shape)} (${header.descr}) needs ${need}${have < need ? ' (truncated)' : ''}`);
  }

  static async load(name: string, bytes: ByteSource, file: string): Promise<NpyArray> {
    const pre = await bytes.range(0, Math.min(PREAMBLE, bytes.size));
    const span = headerSpan(pre, file);
    if (span > bytes.size) throw new DataError(file, `array ${name}: truncated .npy header`);
    return new NpyArray(name, parseNpyHeader(await bytes.range(0, span), file), bytes, file);
  }

  get info(): ArrayInfo {
    return { name: this.name, dtype: this.header.dtype, shape: this.header.shape };
  }

  async rows(start: number, end: number): Promise<NdArray> {
    const h = this.header;
    if (h.shape.length === 0) throw new DataError(this.file, `array ${this.name} is a scalar, not an array of samples`);
    if (start < 0 || end > h.shape[0]! || start > end) throw new Error(`rows ${start}..${end} outside array ${this.name}`);
    // C order: read just these rows (straight from the file, or inflated forward for a compressed entry),
    // so memory follows the rows asked for, never the size an archive declares.
    if (!h.fortranOrder) {
      const rowBytes = numel(h.shape.slice(1)) * ITEM_SIZE[h.dtype];
      const raw = await this.bytes.range(h.dataOffset + start * rowBytes, h.dataOffset + end * rowBytes);
      return { dtype: h.dtype, shape: [end - start, ...h.shape.slice(1)], data: fromBytes(raw, h.dtype, h.littleEndian) };
    }
    if (!this.whole) {
      // Fortran order is column-major: every row needs the whole array. The byte source caps what it
      // loads whole (a file's real bytes, or a compressed entry's bounded inflation).
      const raw = (await this.bytes.all()).subarray(h.dataOffset);
      this.whole = { dtype: h.dtype, shape: h.shape, data: gatherStrided(fromBytes(raw, h.dtype, h.littleEndian), 0, h.shape, fortranStrides(h.shape)) };
    }
    return sliceRows(this.whole, start, end);
  }
}

function fileBytes(path: string, size: number, file: string): ByteSource & { close(): Promise<void> } {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  const range = async (start: number, end: number): Promise<Uint8Array> => {
    handle ??= await open(path, 'r');
    const out = new Uint8Array(end - start);
    let at = 0;
    while (at < out.length) {
      const { bytesRead } = await handle.read(out, at, out.length - at, start + at);
      if (bytesRead === 0) throw new DataError(file, `truncated: ended at byte ${start + at}`);
      at += bytesRead;
    }
    return out;
  };
  return {
    size,
    range,
    all: () => {
      if (size > MAX_ARRAY_BYTES) throw new DataError(file, `is ${size} bytes; Fortran-order arrays are loaded whole and the limit is ${MAX_ARRAY_BYTES}`);
      return range(0, size);
    },
    close: async () => {
      await handle?.close();
      handle = undefined;
    },
  };
}

function entryBytes(zip: ZipArchive, name: string): ByteSource & { close(): void } {
  const e = zip.entries.get(name)!;
  const inflating = e.method === 0 ? undefined : zip.sequential(name);
  return {
    size: e.size,
    range: (start, end) => (inflating ? inflating.range(start, end) : zip.readRange(name, start, end)),
    // Bounded by the archive: a stored entry's bytes are in the file, a compressed one is capped.
    all: () => zip.read(name),
    close: () => inflating?.close(),
  };
}

abstract class NpySetSource implements ArraySource {
  abstract readonly format: 'npy' | 'npz' | 'npy-dir';
  readonly positional = false;
  readonly arrays: ArrayInfo[];
  protected readonly byName: Map<string, NpyArray>;
  constructor(
    readonly file: string,
    arrays: NpyArray[],
    readonly details: Record<string, unknown>,
  ) {
    this.byName = new Map(arrays.map((a) => [a.name, a]));
    this.arrays = arrays.map((a) => a.info);
  }
  read(name: string, start: number, end: number): Promise<NdArray> {
    const a = this.byName.get(name);
    if (!a) throw new DataError(this.file, `has no array ${name}`);
    return a.rows(start, end);
  }
  abstract close(): Promise<void>;
}

/** A single .npy file: one array, named after the file. */
export class NpySource extends NpySetSource {
  readonly format = 'npy' as const;
  private constructor(
    file: string,
    arrays: NpyArray[],
    private readonly closer: () => Promise<void>,
  ) {
    super(file, arrays, {});
  }
  static async open(path: string, file: string = path): Promise<NpySource> {
    const bytes = fileBytes(path, (await stat(path)).size, file);
    try {
      const arr = await NpyArray.load(basename(path).replace(/\.npy$/i, ''), bytes, file);
      return new NpySource(file, [arr], bytes.close);
    } catch (e) {
      await bytes.close();
      throw e;
    }
  }
  close(): Promise<void> {
    return this.closer();
  }
}

/** An .npz: a zip whose entries are `<name>.npy` (np.savez / np.savez_compressed). */
export class NpzSource extends NpySetSource {
  readonly format = 'npz' as const;
  private constructor(
    file: string,
    arrays: NpyArray[],
    private readonly zip: ZipArchive,
    private readonly closers: (() => void)[],
  ) {
    super(file, arrays, { compressed: [...zip.entries.values()].some((e) => e.method !== 0) });
  }
  static async open(path: string, file: string = path): Promise<NpzSource> {
    return NpzSource.fromZip(await ZipArchive.open(path, file), file);
  }

  /** Takes ownership of `zip` (closes it on failure and on close()). */
  static async fromZip(zip: ZipArchive, file: string): Promise<NpzSource> {
    const closers: (() => void)[] = [];
    try {
      return new NpzSource(file, await loadNpzArrays(zip, file, closers), zip, closers);
    } catch (e) {
      for (const c of closers) c();
      zip.close();
      throw e;
    }
  }
  async close(): Promise<void> {
    for (const c of this.closers) c();
    this.zip.close();
  }
}

async function loadNpzArrays(zip: ZipArchive, file: string, closers: (() => void)[]): Promise<NpyArray[]> {
  const arrays: NpyArray[] = [];
  const names = new Set<string>();
  for (const name of zip.entries.keys()) {
    if (name.endsWith('/')) continue;
    if (!name.endsWith('.npy')) throw new DataError(file, `.npz entry ${name} is not a .npy array`);
    // np.load names each array after its entry without ".npy"; two entries may not give one name.
    const arrayName = name.slice(0, -4);
    if (arrayName === '' || names.has(arrayName)) throw new DataError(file, `.npz entry ${name} does not name a distinct array`);
    names.add(arrayName);
    const bytes = entryBytes(zip, name);
    closers.push(bytes.close);
    arrays.push(await NpyArray.load(arrayName, bytes, file));
  }
  if (arrays.length === 0) throw new DataError(file, '.npz holds no arrays');
  return arrays;
}

/** A directory of .npy files (an unpacked .npz): each file is one array, named after the file. */
export class NpyDirSource extends NpySetSource {
  readonly format = 'npy-dir' as const;
  private constructor(
    file: string,
    arrays: NpyArray[],
    private readonly closers: (() => Promise<void>)[],
  ) {
    super(file, arrays, { files: arrays.map((a) => `${a.name}.npy`) });
  }
  static async open(dir: string, file: string = dir): Promise<NpyDirSource> {
    const names = (await readdir(dir, { withFileTypes: true })).filter((d) => !d.isDirectory() && d.name.toLowerCase().endsWith('.npy')).map((d) => d.name).sort();
    if (names.length === 0) throw new DataError(file, 'directory holds no .npy files');
    if (names.length > MAX_DIR_FILES) throw new DataError(file, `directory holds ${names.length} .npy files (at most ${MAX_DIR_FILES})`);
    // The directory is the boundary: a symlink may point at another file in it, never outside it.
    const root = await realpath(dir);
    const closers: (() => Promise<void>)[] = [];
    try {
      const arrays: NpyArray[] = [];
      for (const n of names) {
        const p = join(dir, n);
        const where = join(file, n);
        const real = await realpath(p).catch(() => undefined);
        if (real === undefined) throw new DataError(where, 'is a broken symlink');
        if (!real.startsWith(root + sep)) throw new DataError(where, `is a symlink to ${real}, outside the directory being imported`);
        const info = await stat(real);
        if (!info.isFile()) throw new DataError(where, 'is not a regular file');
        const bytes = fileBytes(real, info.size, where);
        closers.push(bytes.close);
        arrays.push(await NpyArray.load(n.slice(0, -4), bytes, where));
      }
      return new NpyDirSource(file, arrays, closers);
    } catch (e) {
      for (const c of closers) await c();
      throw e;
    }
  }
  async close(): Promise<void> {
    for (const c of this.closers) await c();
  }
}
