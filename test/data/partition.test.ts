import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePartition, encodePartition, checkValues, type Partition } from '../../src/data/partition.js';
import { DataError } from '../../src/errors.js';

function sample(n: number, labelled = true): Partition {
  const image = new Float32Array(n * 5 * 32 * 32).map((_, i) => (i % 97) / 7);
  const magnitude = new Float32Array(n * 5).map((_, i) => 15 + (i % 5));
  return { count: n, image, magnitude, redshift: labelled ? new Float32Array(n).map((_, i) => i / 100) : undefined, objectId: BigInt64Array.from({ length: n }, (_, i) => 1237648720693755918n + BigInt(i)) };
}

test('partition round-trips through safetensors bytes, zero-copy when aligned', () => {
  const p = sample(7);
  const bytes = encodePartition(p);
  const q = decodePartition(bytes, 'x.safetensors');
  assert.equal(q.count, 7);
  assert.deepEqual(Array.from(q.image.subarray(0, 50)), Array.from(p.image.subarray(0, 50)));
  assert.deepEqual(Array.from(q.redshift!), Array.from(p.redshift!));
  assert.equal(q.objectId[6], 1237648720693755924n);
  assert.equal(q.image.buffer, bytes.buffer, 'image is a view of the file bytes');
});

test('unlabelled partitions have no redshift', () => {
  const q = decodePartition(encodePartition(sample(3, false)), 'u.safetensors');
  assert.equal(q.redshift, undefined);
});

test('truncated and hostile headers are refused with the file named', () => {
  const bytes = encodePartition(sample(2));
  assert.throws(() => decodePartition(bytes.subarray(0, bytes.length - 10), 'cut.safetensors'), (e: unknown) => e instanceof DataError && /cut\.safetensors: truncated/.test(e.message));
  const huge = new Uint8Array(bytes);
  new DataView(huge.buffer).setBigUint64(0, 1n << 60n, true);
  assert.throws(() => decodePartition(huge, 'h.safetensors'), /h\.safetensors: safetensors header length/);
});

test('checkValues names the sample holding a NaN', () => {
  const p = sample(4);
  p.image[3 * 5120 + 9] = NaN;
  assert.throws(() => checkValues(p, 'nan.safetensors'), /nan\.safetensors: non-finite image value NaN in sample 3/);
});
