// Every count, size and offset of a safetensors header, for partitions (exit 3) and weights (exit 4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePartition, encodePartition } from '../../src/data/partition.js';
import { MAX_HEADER_BYTES, parseSafetensors } from '../../src/data/safetensors.js';
import { decodeWeights } from '../../src/model/weights-file.js';
import { dataError, modelError, rawSafetensors, samples } from './helpers.js';

const F = 'hostile.safetensors';
/** A labelled partition of `n` samples as a header object plus its data bytes, to be edited. */
function layout(n: number): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; data: Uint8Array } {
  const p = samples(n, 100n);
  const parts: [string, string, number[], ArrayBufferView][] = [
    ['object_id', 'I64', [n], p.objectId],
    ['image', 'F32', [n, 5, 32, 32], p.image],
    ['magnitude', 'F32', [n, 5], p.magnitude],
    ['redshift', 'F32', [n], p.redshift!],
  ];
  const header: ReturnType<typeof layout>['header'] = {};
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const [name, dtype, shape, data] of parts) {
    header[name] = { dtype, shape, data_offsets: [at, at + data.byteLength] };
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    at += data.byteLength;
  }
  return { header, data: new Uint8Array(Buffer.concat(chunks)) };
}

const decode = (bytes: Uint8Array) => decodePartition(bytes, F);

test('overlapping data_offsets are refused: magnitudes cannot be read out of pixel bytes', () => {
  const { header, data } = layout(2);
  // Point the magnitudes into the image: both ranges valid on their own, the file the same size.
  const img = header.image!.data_offsets;
  header.magnitude!.data_offsets = [img[0] + 40, img[0] + 80];
  assert.throws(() => decode(rawSafetensors(header, data)), dataError(F, /tensor "(magnitude|image)" \(bytes \d+\.\.\d+\) overlaps tensor "(image|magnitude)"/));
  // Two tensors on exactly the same bytes.
  const same = layout(2);
  same.header.redshift!.data_offsets = [...same.header.object_id!.data_offsets.map((x) => x / 2)] as [number, number];
  assert.throws(() => decode(rawSafetensors(same.header, same.data)), dataError(F, /overlaps|no tensor covers/));
});

test('reversed, gapped, trailing and out-of-file offsets are refused; a permuted but tiling header is read', () => {
  const base = layout(1);
  const cases: [(h: ReturnType<typeof layout>['header']) => void, RegExp, number?][] = [
    [(h) => (h.redshift!.data_offsets = [h.redshift!.data_offsets[1], h.redshift!.data_offsets[0]]), /tensor "redshift" has invalid data offsets/],
    [(h) => (h.redshift!.data_offsets = [-4, 0]), /invalid data offsets/],
    [(h) => (h.redshift!.data_offsets = [2 ** 53, 2 ** 53 + 4]), /invalid data offsets/],
    [(h) => ((h.redshift!.data_offsets as unknown[]) = ['0', '4']), /invalid data offsets/],
    [(h) => (h.redshift!.data_offsets = [h.redshift!.data_offsets[0] + 4, h.redshift!.data_offsets[1] + 4]), /truncated: tensor "redshift" ends at byte/],
    [(h) => (h.magnitude!.data_offsets = [h.magnitude!.data_offsets[0] + 1, h.magnitude!.data_offsets[1] + 1]), /overlaps|no tensor covers/],
    [() => {}, /4 bytes after the last tensor/, 4],
    [(h) => (h.image!.shape = [1, 5, 32, 33]), /tensor "image" occupies 20480 bytes but its shape \[1,5,32,33\] \(F32\) needs 21120/],
    [(h) => (h.image!.shape = [1, 5, -32, -32]), /tensor "image" has an invalid dimension -32/],
    [(h) => (h.image!.shape = [1, 1, 1, 1, 1, 1, 1, 1, 5120]), /tensor "image" has 9 dimensions \(at most 8\)/],
    [(h) => (h.image!.dtype = 'F128'), /tensor "image" has an unknown dtype "F128"/],
    [(h) => ((h.image as unknown) = [1, 2]), /tensor "image" has a malformed header entry/],
  ];
  for (const [edit, problem, trailing] of cases) {
    const h = structuredClone(base.header);
    edit(h);
    const data = trailing ? new Uint8Array(Buffer.concat([base.data, new Uint8Array(trailing)])) : base.data;
    assert.throws(() => decode(rawSafetensors(h, data)), dataError(F, problem), String(problem));
  }
  // The format does not order keys: the same tiles listed in another order are a valid file.
  const permuted = Object.fromEntries(Object.entries(base.header).reverse());
  const p = decode(rawSafetensors(permuted, base.data));
  assert.deepEqual(Array.from(p.objectId), [100n]);
  assert.equal(p.magnitude[0], 15);
});

test('header length, header kind and extra tensors are refused before anything is allocated', () => {
  const good = encodePartition(samples(1, 1n));
  const withLength = (len: bigint): Uint8Array => {
    const b = new Uint8Array(good);
    new DataView(b.buffer).setBigUint64(0, len, true);
    return b;
  };
  assert.throws(() => decode(withLength(2n ** 64n - 1n)), dataError(F, new RegExp(`header length 18446744073709551615 exceeds the ${MAX_HEADER_BYTES}-byte limit`)));
  assert.throws(() => decode(withLength(BigInt(MAX_HEADER_BYTES))), dataError(F, /truncated: header says 1048576 bytes/));
  assert.throws(() => decode(withLength(0n)), dataError(F, /not a JSON object/));
  assert.throws(() => decode(good.subarray(0, 7)), dataError(F, /too short/));
  assert.throws(() => decode(rawSafetensors('[' + '['.repeat(100_000), 0)), dataError(F, /not a JSON object/));
  assert.throws(() => decode(rawSafetensors('{"a": ', 0)), dataError(F, /not valid JSON/));
  assert.throws(() => decode(rawSafetensors({ __metadata__: [1] }, 0)), dataError(F, /__metadata__ is not an object/));
  const { header, data } = layout(1);
  const extra = { ...header, pixels_again: { dtype: 'U8', shape: [4], data_offsets: [data.length, data.length + 4] } };
  assert.throws(() => decode(rawSafetensors(extra, new Uint8Array(Buffer.concat([data, new Uint8Array(4)])))), dataError(F, /unexpected tensor "pixels_again"/));
  // Header parsing reads the header only: its size bounds the work.
  assert.throws(() => parseSafetensors(withLength(2n ** 40n), (m) => new Error(m)), /exceeds/);
});

test('weights files get the same header checks, as model errors (exit 4)', () => {
  const W = 'w.safetensors';
  const header = {
    'head.2.bias': { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    'head.2.weight': { dtype: 'F32', shape: [1, 1024], data_offsets: [0, 4096] },
  };
  assert.throws(() => decodeWeights(rawSafetensors(header, 4096), W), modelError(W, /overlaps/));
  assert.throws(() => decodeWeights(rawSafetensors({ 'head.2.bias': { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), W), modelError(W, /4 bytes after the last tensor/));
});
