// Builds PyTorch zip checkpoints without PyTorch, mirroring what torch.save(TensorDataset(...)) writes
// (checked byte for byte against the real fixture's data.pkl in the tests).
import { PickleWriter } from './pickle-writer.js';
import { writeZip, type ZipInput } from './zip-writer.js';

export const STORAGE_ITEM: Record<string, number> = {
  FloatStorage: 4,
  DoubleStorage: 8,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ByteStorage: 1,
  UntypedStorage: 1,
};

export interface StorageSpec {
  key: string;
  /** Storage class, e.g. 'FloatStorage'. */
  type: string;
  bytes: Uint8Array;
  /** Element count written in the persistent id (default: bytes / item size). */
  numel?: number;
}

export interface TensorSpec {
  storage: string;
  offset?: number;
  shape: number[];
  /** Default: contiguous. */
  strides?: number[];
}

export interface TorchFileSpec {
  /** Top-level folder: the file stem in PyTorch 1.x, 'archive' for 2.x buffers. */
  archive?: string;
  /** '2.x' adds byteorder, .data/version and data/serialization_id entries. */
  style?: '1.13' | '2.x';
  byteorder?: 'little' | 'big';
  container?: 'TensorDataset' | 'tuple' | 'list' | { dict: string[] };
  storages: StorageSpec[];
  tensors: TensorSpec[];
}

/** The smallest checkpoint an import maps: zero images [n,5,32,32] and magnitudes [n,5] in two storages. */
export function imageAndMagnitudeSpec(n: number): TorchFileSpec {
  return {
    storages: [
      { key: '0', type: 'FloatStorage', bytes: new Uint8Array(n * 5120 * 4) },
      { key: '1', type: 'FloatStorage', bytes: new Uint8Array(n * 5 * 4) },
    ],
    tensors: [
      { storage: '0', shape: [n, 5, 32, 32] },
      { storage: '1', shape: [n, 5] },
    ],
  };
}

export function contiguous(shape: readonly number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

function storageMeta(spec: TorchFileSpec, key: string): StorageSpec {
  const s = spec.storages.find((x) => x.key === key);
  if (!s) throw new Error(`no storage ${key}`);
  return s;
}

function writeTensor(w: PickleWriter, spec: TorchFileSpec, t: TensorSpec): void {
  const s = storageMeta(spec, t.storage);
  w.global('torch._utils', '_rebuild_tensor_v2');
  w.mark();
  w.mark().str('storage').global('torch', s.type).str(s.key).str('cpu').int(s.numel ?? s.bytes.length / STORAGE_ITEM[s.type]!).tuple().put();
  w.binpersid();
  w.int(t.offset ?? 0);
  w.intTuple(t.shape);
  w.intTuple(t.strides ?? contiguous(t.shape));
  w.bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().put();
  w.tuple().put();
  w.reduce().put();
}

/** The data.pkl of a torch.save()d container of tensors. */
export function torchPickle(spec: TorchFileSpec): Uint8Array {
  const w = new PickleWriter().proto(2);
  const container = spec.container ?? 'TensorDataset';
  const tensors = (): void => {
    if (spec.tensors.length > 3) w.mark();
    for (const t of spec.tensors) writeTensor(w, spec, t);
    w.tupleN(spec.tensors.length);
  };
  if (container === 'TensorDataset') {
    w.global('torch.utils.data.dataset', 'TensorDataset').emptyTuple().newobj().put();
    w.emptyDict().put().str('tensors');
    tensors();
    w.setitem().build();
  } else if (container === 'tuple') {
    tensors();
  } else if (container === 'list') {
    w.emptyList().put().mark();
    for (const t of spec.tensors) writeTensor(w, spec, t);
    w.appends();
  } else {
    w.emptyDict().put().mark();
    spec.tensors.forEach((t, i) => {
      w.str(container.dict[i]!);
      writeTensor(w, spec, t);
    });
    w.setitems();
  }
  return w.stop().bytes();
}

/** The zip entries of a checkpoint with the given pickle (default: torchPickle(spec)). */
export function torchEntries(spec: TorchFileSpec, pickle: Uint8Array = torchPickle(spec)): ZipInput[] {
  const root = spec.archive ?? 'archive';
  const entries: ZipInput[] = [{ name: `${root}/data.pkl`, data: pickle }];
  if (spec.style === '2.x' || spec.byteorder) entries.push({ name: `${root}/byteorder`, data: Buffer.from(spec.byteorder ?? 'little') });
  for (const s of spec.storages) entries.push({ name: `${root}/data/${s.key}`, data: s.bytes });
  if (spec.style === '2.x') {
    entries.push({ name: `${root}/.data/version`, data: Buffer.from('3\n') });
    entries.push({ name: `${root}/data/serialization_id`, data: Buffer.from('1234567890123456789012345678901234567890') });
  }
  entries.push({ name: `${root}/version`, data: Buffer.from('3\n') });
  return entries;
}

export function torchZip(spec: TorchFileSpec): Uint8Array {
  return writeZip(torchEntries(spec));
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
