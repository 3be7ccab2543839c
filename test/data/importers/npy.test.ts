import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../../../src/errors.js';
import { inspectImportFile, openImportSource, readImportFile } from '../../../src/data/importers/index.js';
import { parseNpyHeader, parsePyLiteral } from '../../../src/data/importers/npy.js';
import { writeZip } from './helpers/zip-writer.js';
import { npyBytes } from './helpers/npy-writer.js';

// The formulas test/fixtures/npy/make_fixtures.py used (see the README there).
const BASE_ID = 1237648720693755918n;
const image = (i: number, c: number, y: number, x: number): number => ((7 * i + 3 * c + 5 * y + x) % 64) / 4;
const mag = (i: number, b: number): number => 15 + i + b / 2;

function checkImages(p: { count: number; image: Float32Array }): void {
  for (let i = 0; i < p.count; i++)
    for (let c = 0; c < 5; c++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const got = p.image[i * 5120 + c * 1024 + y * 32 + x];
          if (got !== image(i, c, y, x)) assert.fail(`image[${i},${c},${y},${x}] is ${got}, expected ${image(i, c, y, x)}`);
        }
}

function checkMags(p: { count: number; magnitude: Float32Array }): void {
  assert.deepEqual(
    Array.from(p.magnitude),
    Array.from({ length: p.count * 5 }, (_, k) => mag(Math.floor(k / 5), k % 5)),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'cai-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const npy = npyBytes;

function isDataError(file: string, problem: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.ok(e.message.startsWith(file), `message names the file: ${e.message}`);
    assert.match(e.message, problem);
    return true;
  };
}

test('npz written by np.savez_compressed: float64 magnitudes, redshift [N,1], int64 ids above 2^53', async () => {
  const p = await readImportFile('test/fixtures/npy/labelled.npz');
  assert.equal(p.count, 3);
  checkImages(p);
  checkMags(p);
  assert.deepEqual(Array.from(p.redshift!), [0, 1 / 16, 2 / 16]);
  assert.deepEqual(Array.from(p.objectId), [BASE_ID, BASE_ID + 1n, BASE_ID + 2n]);
  const info = await inspectImportFile('test/fixtures/npy/labelled.npz');
  assert.equal(info.format, 'npz');
  assert.deepEqual(info.details, { compressed: true });
  assert.equal(info.labelled, true);
});

test('npz written by np.savez: channel-last big-endian X, Fortran-order mags, y, sequential ids', async () => {
  const p = await readImportFile('test/fixtures/npy/channels-last.npz', { idBase: 500n });
  assert.equal(p.count, 2);
  checkImages(p);
  checkMags(p);
  assert.deepEqual(Array.from(p.redshift!), [0, 1 / 16]);
  assert.deepEqual(Array.from(p.objectId), [500n, 501n]);
  const info = (await inspectImportFile('test/fixtures/npy/channels-last.npz')) as { mapping: { image: { layout: string; array: string } } };
  assert.deepEqual([info.mapping.image.array, info.mapping.image.layout], ['X', 'channels-last']);
  // A stored entry is read by row ranges without loading the rest.
  const src = await openImportSource('test/fixtures/npy/channels-last.npz');
  try {
    const rows = await src.read('X', 1, 2);
    assert.deepEqual(rows.shape, [1, 32, 32, 5]);
    assert.equal((rows.data as Float32Array)[3], image(1, 3, 0, 0));
  } finally {
    await src.close();
  }
});

test('a directory of .npy files: float16 images, big-endian float64 magnitudes, int32 ids, unlabelled', async () => {
  const p = await readImportFile('test/fixtures/npy/unlabelled-dir');
  assert.equal(p.count, 2);
  checkImages(p);
  checkMags(p);
  assert.equal(p.redshift, undefined);
  assert.deepEqual(Array.from(p.objectId), [100n, 101n]);
});

test('object arrays, lone .npy files and bad headers are refused clearly', async () => {
  await assert.rejects(readImportFile('test/fixtures/npy/object.npy'), isDataError('test/fixtures/npy/object.npy', /holds Python objects \(dtype \|O\)/));
  const lone = 'test/fixtures/npy/unlabelled-dir/images.npy';
  await assert.rejects(readImportFile(lone), isDataError(lone, /a single \.npy holds one array \(images\)/));
  const info = await inspectImportFile(lone);
  assert.deepEqual(info.arrays, [{ name: 'images', dtype: 'float16', shape: [2, 5, 32, 32] }]);

  // A header that would run code if it were evaluated.
  const evil = join(dir, 'evil.npy');
  writeFileSync(evil, npy("{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)));
  await assert.rejects(readImportFile(evil), isDataError(evil, /npy header: unexpected token/));
  // A shape far larger than the data.
  const big = join(dir, 'big.npy');
  writeFileSync(big, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 5, 32, 32), }", new Uint8Array(64)));
  await assert.rejects(readImportFile(big), isDataError(big, /has 64 bytes of data but its shape \[1000000,5,32,32\] \(<f4\) needs 20480000000 \(truncated\)/));
  const absurd = join(dir, 'absurd.npy');
  writeFileSync(absurd, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }"));
  await assert.rejects(inspectImportFile(absurd), isDataError(absurd, /exceeds the \d+-byte limit/));
  // Truncated data in a real file.
  const cut = join(dir, 'cut');
  const whole = readFileSync('test/fixtures/npy/unlabelled-dir/images.npy');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(cut);
  writeFileSync(join(cut, 'images.npy'), whole.subarray(0, whole.length - 2));
  writeFileSync(join(cut, 'mags.npy'), readFileSync('test/fixtures/npy/unlabelled-dir/dered_petro_mag.npy'));
  await assert.rejects(readImportFile(cut), isDataError(join(cut, 'images.npy'), /\(truncated\)/));
  // Structured dtypes and complex numbers.
  const rec = join(dir, 'rec.npy');
  writeFileSync(rec, npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)));
  await assert.rejects(readImportFile(rec), isDataError(rec, /structured arrays cannot be imported/));
  const cplx = join(dir, 'c.npz');
  writeFileSync(cplx, writeZip([{ name: 'images.npy', data: npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)) }]));
  await assert.rejects(readImportFile(cplx), isDataError(cplx, /unsupported dtype <c8/));
  // An npz entry that is not an array.
  const odd = join(dir, 'odd.npz');
  writeFileSync(odd, writeZip([{ name: 'readme.txt', data: Buffer.from('hi') }]));
  await assert.rejects(readImportFile(odd), isDataError(odd, /entry readme\.txt is not a \.npy array/));
});

test('the header literal parser reads only plain literals', () => {
  assert.deepEqual(parsePyLiteral("{'descr': '<f8', 'fortran_order': True, 'shape': (3, 5), }", 'h'), { descr: '<f8', fortran_order: true, shape: [3, 5] });
  assert.deepEqual(parsePyLiteral("{'shape': (7,), 'x': None, 'y': [1, -2]}", 'h'), { shape: [7], x: null, y: [1, -2] });
  assert.deepEqual(parsePyLiteral('(3L, 4L)', 'h'), [3, 4]);
  assert.throws(() => parsePyLiteral("{'a': 1, 'a': 2}", 'dup.npy'), isDataError('dup.npy', /duplicate key "a"/));
  assert.throws(() => parsePyLiteral("{'a': 99999999999999999999}", 'n.npy'), isDataError('n.npy', /out of range/));
  assert.throws(() => parsePyLiteral("{'a': 'x\\'y'}", 'e.npy'), isDataError('e.npy', /escapes/));
  const h = parseNpyHeader(npy("{'descr': '>i8', 'fortran_order': False, 'shape': (2, 1), }"), 'h.npy');
  assert.deepEqual([h.dtype, h.littleEndian, h.shape, h.dataOffset % 64], ['int64', false, [2, 1], 0]);
});
