// Writes .npy bytes with a hand-made header (also for headers numpy itself would never write).

export function npyBytes(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  let h = header;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, Buffer.from(h, 'latin1'), data]);
}

/** A little-endian float32 C-order array. */
export function npyFloat32(shape: number[], values: Float32Array): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}
