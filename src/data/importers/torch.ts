// PyTorch zip checkpoints (`torch.save`, PyTorch >= 1.6), read without Python. The archive holds
// <root>/data.pkl (a pickle whose tensors point at storages by persistent id), <root>/data/<key> (raw
// storage bytes) and optionally <root>/byteorder. The pickle is read by the restricted reader in
// pickle.ts; tensors are views (offset, shape, strides) into storages and are materialized on read.
import { DataError } from '../../errors.js';
import { ITEM_SIZE, MAX_ARRAY_BYTES, checkShape, contiguousStrides, formatShape, fromBytes, gatherStrided, numel, stridedExtent, type ArrayInfo, type DType, type HostArray, type NdArray } from './ndarray.js';
import { PyCall, PyDict, PyGlobal, PyObject, PyTuple, unpickle, type PyValue } from './pickle.js';
import type { ArraySource } from './source.js';
import { ZipArchive } from './zip.js';

/** Storage classes as torch.save names them, and the element type of each. */
const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  // 2.x untyped storage: counted in bytes.
  UntypedStorage: 'uint8',
};

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils._rebuild_parameter_with_state';
const REBUILD_FROM_TYPE = 'torch._tensor._rebuild_from_type_v2';
const TENSOR_DATASET = 'torch.utils.data.dataset.TensorDataset';

/** Globals a tensor file may name; each is interpreted as data below, never called. */
export const TORCH_ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  REBUILD_TENSOR,
  REBUILD_PARAMETER,
  REBUILD_PARAMETER_WITH_STATE,
  REBUILD_FROM_TYPE,
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.Size',
  'collections.OrderedDict',
  TENSOR_DATASET,
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
]);

/** Pickles larger than this are not tensor containers (the real one is a few hundred bytes). */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
const MAX_TENSORS = 10_000;

export interface StorageRef {
  key: string;
  dtype: DType;
  /** Elements of `dtype`. */
  numel: number;
}

export interface TensorRef {
  storage: StorageRef;
  offset: number;
  shape: number[];
  /** In elements. */
  strides: number[];
}

export interface TorchContents {
  /** 'TensorDataset', 'tuple', 'list', 'dict' or 'tensor'. */
  container: string;
  tensors: { name: string; tensor: TensorRef }[];
  positional: boolean;
}

/**
 * Interpret the pickle of a torch zip checkpoint (pure: bytes in, tensor references out). Storage
 * sizes are taken from the persistent ids; the caller checks them against the archive.
 */
export function parseTorchPickle(pickle: Uint8Array, file: string): TorchContents {
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: PyValue): StorageRef => {
    const items = pid instanceof PyTuple ? pid.items : undefined;
    if (!items || items.length !== 5 || items[0] !== 'storage') throw new DataError(file, 'pickle: unknown persistent id (expected a torch storage)');
    const [, type, key, , count] = items;
    if (!(type instanceof PyGlobal)) throw new DataError(file, 'pickle: storage type is not a class');
    const dtype = STORAGE_DTYPES[type.name];
    if (!dtype) throw new DataError(file, `unsupported storage type ${type.qualified}`);
    if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new DataError(file, `invalid storage key ${JSON.stringify(String(key)).slice(0, 80)}`);
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new DataError(file, `storage ${key} has an invalid size ${String(count)}`);
    if (count * ITEM_SIZE[dtype] > MAX_ARRAY_BYTES) throw new DataError(file, `storage ${key} claims ${count} ${dtype} elements, more than one array may hold`);
    const prev = storages.get(key);
    if (prev && (prev.dtype !== dtype || prev.numel !== count)) throw new DataError(file, `storage ${key} is described two different ways`);
    const ref = prev ?? { key, dtype, numel: count };
    storages.set(key, ref);
    return ref;
  };
  const root = unpickle(pickle, { file, allowedGlobals: TORCH_ALLOWED_GLOBALS, persistentLoad });

  const seen = new Map<PyValue, TensorRef>();
  const asTensor = (v: PyValue, where: string, depth = 0): TensorRef | undefined => {
    if (!(v instanceof PyCall)) return undefined;
    // Parameters wrap tensors once or twice; anything deeper is built to exhaust the stack.
    if (depth > 4) throw new DataError(file, `${where}: tensor wrapped too deeply`);
    const cached = seen.get(v);
    if (cached) return cached;
    let t: TensorRef | undefined;
    const fn = v.callable.qualified;
    if (fn === REBUILD_TENSOR) t = rebuildTensor(v.args, file, where);
    else if (fn === REBUILD_PARAMETER || fn === REBUILD_PARAMETER_WITH_STATE) t = asTensor(v.args[0] ?? null, where, depth + 1);
    else if (fn === REBUILD_FROM_TYPE) {
      const [func, , args] = v.args;
      if (func instanceof PyGlobal && args instanceof PyTuple) t = asTensor(new PyCall(func, args.items), where, depth + 1);
    }
    if (t) seen.set(v, t);
    return t;
  };

  const positional = (container: string, items: PyValue[]): TorchContents => {
    if (items.length > MAX_TENSORS) throw new DataError(file, `holds ${items.length} items (at most ${MAX_TENSORS})`);
    const tensors = items.map((item, i) => {
      const t = asTensor(item, `tensor ${i}`);
      if (!t) throw new DataError(file, `${container} item ${i} is not a tensor`);
      return { name: String(i), tensor: t };
    });
    return { container, tensors, positional: true };
  };

  if (root instanceof PyObject && root.cls.qualified === TENSOR_DATASET) {
    // BUILD state is {'tensors': (...)} (or (dict, slots) for classes with __slots__).
    let state = root.state;
    if (state instanceof PyTuple && state.items[0] instanceof PyDict) state = state.items[0];
    const tensors = state instanceof PyDict ? state.map.get('tensors') : undefined;
    const items = tensors instanceof PyTuple ? tensors.items : Array.isArray(tensors) ? tensors : undefined;
    if (!items) throw new DataError(file, 'TensorDataset has no tensors');
    return positional('TensorDataset', items);
  }
  if (root instanceof PyTuple) return positional('tuple', root.items);
  if (Array.isArray(root)) return positional('list', root);
  if (root instanceof PyDict) {
    const tensors: TorchContents['tensors'] = [];
    for (const [k, v] of root.map) {
      const t = asTensor(v, `tensor ${String(k)}`);
      if (t && typeof k === 'string') tensors.push({ name: k, tensor: t });
      if (tensors.length > MAX_TENSORS) throw new DataError(file, `holds more than ${MAX_TENSORS} tensors`);
    }
    if (tensors.length === 0) throw new DataError(file, 'holds a dict without tensors');
    return { container: 'dict', tensors, positional: false };
  }
  const single = asTensor(root, 'tensor');
  if (single) return { container: 'tensor', tensors: [{ name: '0', tensor: single }], positional: true };
  throw new DataError(file, `holds ${describe(root)}, not tensors (expected a TensorDataset, a tuple or list of tensors, or a dict of tensors)`);
}

function describe(v: PyValue): string {
  if (v instanceof PyObject) return `an object of class ${v.cls.qualified}`;
  if (v instanceof PyCall) return `the result of ${v.callable.qualified}`;
  if (v === null) return 'None';
  return `a ${typeof v}`;
}

function intTuple(v: PyValue | undefined): number[] | undefined {
  // torch.Size(...) pickles as a call on a tuple.
  if (v instanceof PyCall && v.callable.qualified === 'torch.Size') v = v.args[0];
  if (!(v instanceof PyTuple)) return undefined;
  return v.items.every((x) => typeof x === 'number') ? (v.items as number[]) : undefined;
}

function rebuildTensor(args: PyValue[], file: string, where: string): TensorRef {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 4) throw new DataError(file, `${where}: malformed tensor record`);
  const [s, offset, size, stride] = args;
  const storage = s !== null && typeof s === 'object' && 'persistent' in s ? (s.persistent as StorageRef) : undefined;
  if (!storage) throw new DataError(file, `${where}: tensor without storage`);
  const shapeRaw = intTuple(size);
  const stridesRaw = intTuple(stride);
  if (!shapeRaw || !stridesRaw || shapeRaw.length !== stridesRaw.length) throw new DataError(file, `${where}: malformed shape or strides`);
  const shape = checkShape(shapeRaw, storage.dtype, file, where);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new DataError(file, `${where}: invalid storage offset ${String(offset)}`);
  for (const st of stridesRaw) if (!Number.isSafeInteger(st) || st < 0) throw new DataError(file, `${where}: invalid stride ${st}`);
  const extent = stridedExtent(offset, shape, stridesRaw);
  if (extent >= storage.numel)
    throw new DataError(file, `${where}: shape ${formatShape(shape)} at offset ${offset} needs ${extent + 1} elements but storage ${storage.key} holds ${storage.numel}`);
  return { storage, offset, shape, strides: stridesRaw };
}

/** Find `<root>/data.pkl`: the root folder name varies (file stem in 1.x, 'archive' for buffers). */
export function findArchiveRoot(names: Iterable<string>, file: string): string {
  const roots: string[] = [];
  for (const n of names) {
    const m = /^([^/]+)\/data\.pkl$/.exec(n);
    if (m) roots.push(m[1]!);
  }
  if (roots.length === 0) throw new DataError(file, 'not a PyTorch zip checkpoint (no <archive>/data.pkl entry)');
  if (roots.length > 1) throw new DataError(file, `holds ${roots.length} pickles (${roots.join(', ')}); expected one`);
  return roots[0]!;
}

export class TorchSource implements ArraySource {
  readonly format = 'torch' as const;
  readonly arrays: ArrayInfo[];
  readonly positional: boolean;
  readonly details: Record<string, unknown>;
  private readonly tensors: Map<string, TensorRef>;
  private readonly storageCache = new Map<string, HostArray>();

  private constructor(
    private readonly zip: ZipArchive,
    readonly file: string,
    private readonly root: string,
    private readonly littleEndian: boolean,
    contents: TorchContents,
  ) {
    this.tensors = new Map(contents.tensors.map((t) => [t.name, t.tensor]));
    this.arrays = contents.tensors.map((t) => ({ name: t.name, dtype: t.tensor.storage.dtype, shape: t.tensor.shape }));
    this.positional = contents.positional;
    this.details = { archive: root, container: contents.container, byteorder: littleEndian ? 'little' : 'big' };
  }

  static async open(path: string, file: string = path): Promise<TorchSource> {
    return TorchSource.fromZip(await ZipArchive.open(path, file), file);
  }

  /** Takes ownership of `zip` (closes it on failure and on close()). */
  static async fromZip(zip: ZipArchive, file: string): Promise<TorchSource> {
    try {
      const root = findArchiveRoot(zip.entries.keys(), file);
      let littleEndian = true;
      const bo = `${root}/byteorder`;
      if (zip.has(bo)) {
        const text = Buffer.from(await zip.read(bo, { maxBytes: 16 })).toString('latin1').trim();
        if (text !== 'little' && text !== 'big') throw new DataError(file, `unknown byteorder "${text.slice(0, 16)}"`);
        littleEndian = text === 'little';
      }
      const pickle = await zip.read(`${root}/data.pkl`, { maxBytes: MAX_PICKLE_BYTES });
      const contents = parseTorchPickle(pickle, file);
      // Check every storage against the archive directory now, before any data is read.
      for (const { tensor } of contents.tensors) {
        const s = tensor.storage;
        const entry = zip.entries.get(`${root}/data/${s.key}`);
        if (!entry) throw new DataError(file, `storage ${s.key} is missing from the archive (${root}/data/${s.key})`);
        const need = s.numel * ITEM_SIZE[s.dtype];
        if (entry.size !== need) throw new DataError(file, `storage ${s.key} holds ${entry.size} bytes but its ${s.numel} ${s.dtype} elements need ${need}`);
      }
      return new TorchSource(zip, file, root, littleEndian, contents);
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  async read(name: string, start: number, end: number): Promise<NdArray> {
    const t = this.tensors.get(name);
    if (!t) throw new DataError(this.file, `has no tensor ${name}`);
    if (t.shape.length === 0) throw new DataError(this.file, `tensor ${name} is a scalar, not an array of samples`);
    if (start < 0 || end > t.shape[0]! || start > end) throw new Error(`rows ${start}..${end} outside tensor ${name}`);
    const storage = await this.storage(t.storage);
    const shape = [end - start, ...t.shape.slice(1)];
    const offset = t.offset + start * t.strides[0]!;
    // A contiguous tensor is handed out as a view of its storage; views with other strides are gathered.
    const contiguous = contiguousStrides(shape).every((s, i) => s === t.strides[i] || shape[i] === 1);
    const data = contiguous ? storage.subarray(offset, offset + numel(shape)) : gatherStrided(storage, offset, shape, t.strides);
    return { dtype: t.storage.dtype, shape, data };
  }

  private async storage(s: StorageRef): Promise<HostArray> {
    const cached = this.storageCache.get(s.key);
    if (cached) return cached;
    const bytes = await this.zip.read(`${this.root}/data/${s.key}`, { expectedBytes: s.numel * ITEM_SIZE[s.dtype] });
    const arr = fromBytes(bytes, s.dtype, this.littleEndian);
    this.storageCache.set(s.key, arr);
    return arr;
  }

  async close(): Promise<void> {
    this.storageCache.clear();
    this.zip.close();
  }
}
