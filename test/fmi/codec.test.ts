import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeValue, encodeValue, packList, unpackList, type FmiValue } from '../../src/fmi/codec.js';
import { FmiProtocolError } from '../../src/fmi/errors.js';
import { elementwise, resolveOp } from '../../src/fmi/ops.js';
import { UsageError } from '../../src/errors.js';

const samples: FmiValue[] = [
  0,
  -1.5,
  Number.MAX_VALUE,
  -(2n ** 63n),
  2n ** 63n - 1n,
  new Uint8Array([1, 2, 255]),
  new Int8Array([-128, 127]),
  new Uint8ClampedArray([0, 255]),
  new Int16Array([-32768, 5]),
  new Uint16Array([65535]),
  new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
  new Uint32Array([2 ** 32 - 1]),
  new Float32Array([1.5, -0.25]),
  new Float64Array([Math.PI, -0, Infinity]),
  new BigInt64Array([-(2n ** 63n), 7n]),
  new BigUint64Array([2n ** 64n - 1n]),
  new Float64Array(0),
];

test('every supported value round-trips with its type', () => {
  for (const v of samples) {
    const back = decodeValue(encodeValue(v));
    assert.deepStrictEqual(back, v);
  }
  // A Buffer travels as plain bytes.
  assert.deepStrictEqual(decodeValue(encodeValue(Buffer.from('hi'))), new Uint8Array([104, 105]));
});

test('aligned frames decode as views, unaligned ones as copies with the same content', () => {
  const bytes = encodeValue(new Float64Array([1, 2, 3]));
  const view = decodeValue(bytes) as Float64Array;
  assert.equal(view.buffer, bytes.buffer);
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const copy = decodeValue(shifted.subarray(1)) as Float64Array;
  assert.notEqual(copy.buffer, shifted.buffer);
  assert.deepStrictEqual(copy, new Float64Array([1, 2, 3]));
});

test('malformed values are refused with a protocol error, not a crash', () => {
  assert.throws(() => decodeValue(new Uint8Array(3), 'frame from rank 2'), (e: unknown) => e instanceof FmiProtocolError && /frame from rank 2: 3-byte value/.test(e.message));
  const unknownType = new Uint8Array(16);
  unknownType[0] = 99;
  assert.throws(() => decodeValue(unknownType), /unknown value type code 99/);
  const ragged = encodeValue(new Float64Array([1])).subarray(0, 13);
  assert.throws(() => decodeValue(ragged), /not a whole number of 8-byte elements/);
  assert.throws(() => encodeValue('text' as unknown as FmiValue), TypeError);
  assert.throws(() => encodeValue(2n ** 64n), RangeError);
});

test('lists pack and unpack, and lying lengths are caught', () => {
  const items = [new Uint8Array([1]), new Uint8Array(0), encodeValue(new Float64Array([5, 6]))];
  const packed = packList(items);
  assert.deepStrictEqual(unpackList(packed), items);
  const lying = packed.slice();
  new DataView(lying.buffer).setUint32(4, 1000, true);
  assert.throws(() => unpackList(lying), /runs past the end/);
  const tooMany = new Uint8Array(8);
  new DataView(tooMany.buffer).setUint32(0, 1 << 30, true);
  assert.throws(() => unpackList(tooMany), /longer than its 8 bytes/);
});

test('built-in reductions work element-wise with the array type\'s arithmetic', () => {
  const sum = resolveOp('sum');
  const prod = resolveOp('prod');
  assert.deepStrictEqual(sum.combine(new Uint8Array([250, 1]), new Uint8Array([10, 2])), new Uint8Array([4, 3]));
  assert.deepStrictEqual(prod.combine(new Int32Array([2 ** 30]), new Int32Array([4])), new Int32Array([0]));
  assert.deepStrictEqual(prod.combine(new Int32Array([65537]), new Int32Array([65537])), new Int32Array([Math.imul(65537, 65537)]));
  assert.deepStrictEqual(resolveOp('max').combine(new BigInt64Array([1n, -5n]), new BigInt64Array([0n, 3n])), new BigInt64Array([1n, 3n]));
  assert.equal(resolveOp('min').combine(3, -2), -2);
  assert.equal(sum.combine(2n ** 63n - 1n, 1n), -(2n ** 63n));
  assert.throws(() => sum.combine(new Float64Array(2), new Float64Array(3)), (e: unknown) => e instanceof UsageError && /2 and 3 elements/.test(e.message));
  assert.throws(() => sum.combine(1, new Float64Array(1)), /cannot reduce a number with a Float64Array/);
  assert.throws(() => resolveOp('avg' as 'sum'), /unknown reduction "avg"/);
});

test('elementwise lifts a scalar function to arrays and leaves inputs alone', () => {
  const gcd = elementwise((a: number, b: number): number => (b === 0 ? a : gcdOf(b, a % b)));
  function gcdOf(a: number, b: number): number {
    return b === 0 ? a : gcdOf(b, a % b);
  }
  const a = new Int32Array([12, 9]);
  assert.deepStrictEqual(gcd(a, new Int32Array([18, 6])), new Int32Array([6, 3]));
  assert.deepStrictEqual(a, new Int32Array([12, 9]));
  assert.equal(gcd(12, 8), 4);
});
