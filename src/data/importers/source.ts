// The seam between a foreign file format and the mapping to native partitions: a set of named arrays
// whose shapes are known up front and whose rows (samples, axis 0) can be read in ranges.
import type { ArrayInfo, NdArray } from './ndarray.js';

export type ImportFormat = 'torch' | 'npy' | 'npz' | 'npy-dir' | 'hdf5';

export interface ArraySource {
  readonly format: ImportFormat;
  /** The file as named in messages. */
  readonly file: string;
  readonly arrays: readonly ArrayInfo[];
  /** True when arrays have no names of their own, only positions ('0', '1', ...), as in a TensorDataset. */
  readonly positional: boolean;
  /** Format-specific facts for `inspect` (archive layout, container type, ...). */
  readonly details: Record<string, unknown>;
  /** Rows [start, end) along axis 0 of an array, contiguous, in host byte order. */
  read(name: string, start: number, end: number): Promise<NdArray>;
  close(): Promise<void>;
}
