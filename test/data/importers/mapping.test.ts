import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaiError, DataError, ExitCode } from '../../../src/errors.js';
import { channelsLastToFirst, parseKeys, resolveMapping } from '../../../src/data/importers/mapping.js';
import type { ArrayInfo } from '../../../src/data/importers/ndarray.js';

const a = (name: string, shape: number[], dtype: ArrayInfo['dtype'] = 'float32'): ArrayInfo => ({ name, dtype, shape });
const src = (arrays: ArrayInfo[], positional = false) => ({ file: 'f.npz', arrays, positional });

function dataError(problem: RegExp) {
  return (e: unknown): boolean => e instanceof DataError && e.message.startsWith('f.npz: ') && problem.test(e.message);
}

test('common names are recognised, including inside HDF5 groups', () => {
  const m = resolveMapping(src([a('grp/Images', [4, 5, 32, 32]), a('dered_petro_mag', [4, 5], 'float64'), a('specz', [4, 1], 'float64'), a('objid', [4], 'int64'), a('extra', [4])]));
  assert.equal(m.samples, 4);
  assert.deepEqual([m.image.array, m.image.layout, m.magnitude.array, m.redshift?.array], ['grp/Images', 'channels-first', 'dered_petro_mag', 'specz']);
  assert.deepEqual(m.objectId, { array: 'objid', dtype: 'int64', shape: [4] });
  assert.deepEqual(m.unused, ['extra']);
});

test('image and magnitude fall back to the only array of the right shape; labels never do', () => {
  const m = resolveMapping(src([a('cutouts', [2, 32, 32, 5]), a('photometry', [2, 5]), a('zz', [2])]), { idBase: 7n });
  assert.deepEqual([m.image.array, m.image.layout, m.magnitude.array, m.redshift], ['cutouts', 'channels-last', 'photometry', undefined]);
  assert.deepEqual(m.objectId, { sequentialFrom: '7' });
});

test('positional (TensorDataset) order: images, magnitudes, then redshift or ids by dtype', () => {
  const m = resolveMapping(src([a('0', [3, 5, 32, 32]), a('1', [3, 5]), a('2', [3], 'int64'), a('3', [3, 1])], true));
  assert.deepEqual([m.image.array, m.magnitude.array, m.redshift?.array], ['0', '1', '3']);
  assert.deepEqual(m.objectId, { array: '2', dtype: 'int64', shape: [3] });
  assert.throws(() => resolveMapping(src([a('0', [3, 5, 32, 32]), a('1', [3])], true)), dataError(/magnitude array "1" has shape \[3\]; expected \[N,5\]/));
});

test('--keys overrides detection, and "none" drops labels or ids', () => {
  const arrays = [a('images', [2, 5, 32, 32]), a('mags', [2, 5]), a('z', [2]), a('ids', [2], 'int64'), a('other_z', [2])];
  const m = resolveMapping(src(arrays), { keys: parseKeys('redshift=other_z,object_id=none') });
  assert.equal(m.redshift?.array, 'other_z');
  assert.deepEqual(m.objectId, { sequentialFrom: '0' });
  assert.equal(resolveMapping(src(arrays), { keys: { redshift: null } }).redshift, undefined);
  assert.throws(() => resolveMapping(src(arrays), { keys: { image: 'nope' } }), dataError(/has no array "nope" for image \(arrays: images \[2,5,32,32\] float32, /));
});

test('mismatches are errors that say what was expected', () => {
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 32, 32]), a('mags', [3, 5])])), dataError(/sample counts disagree: image "images" has 2, magnitude "mags" has 3/));
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 64, 64]), a('mags', [2, 5])])), dataError(/image array "images" has shape \[2,5,64,64\]; expected \[N,5,32,32\]/));
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 32, 32]), a('mags', [2, 5])]), { channelsLast: true }), dataError(/channel-last images must be \[N,32,32,5\]/));
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 32, 32]), a('X', [2, 5, 32, 32]), a('mags', [2, 5])])), dataError(/several arrays could be the image: images, X; choose one with --keys image=NAME/));
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 32, 32]), a('mags', [2, 5]), a('objid', [2], 'float64')])), dataError(/object ids must be integers/));
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 32, 32]), a('mags', [2, 5]), a('z', [2, 2])])), dataError(/redshift array "z" has shape \[2,2\]; expected \[N\] or \[N,1\]/));
  assert.throws(() => resolveMapping(src([a('images', [2, 5, 32, 32])])), dataError(/no magnitude array found/));
});

test('parseKeys accepts roles and aliases and rejects the rest as usage errors', () => {
  assert.deepEqual(parseKeys('image=cube, magnitude=photo/mags ,objid=ID,redshift=None'), { image: 'cube', magnitude: 'photo/mags', object_id: 'ID', redshift: null });
  for (const bad of ['color=x', 'image=', 'image=a,image=b', 'magnitude=none']) {
    assert.throws(
      () => parseKeys(bad),
      (e: unknown) => e instanceof CaiError && e.exitCode === ExitCode.usage,
      bad,
    );
  }
});

test('sequential ids that would overflow int64 are refused', async () => {
  const { readImportFile } = await import('../../../src/data/importers/index.js');
  const p = await readImportFile('test/fixtures/npy/channels-last.npz', { idBase: 2n ** 63n - 2n });
  assert.deepEqual(Array.from(p.objectId), [2n ** 63n - 2n, 2n ** 63n - 1n]);
  await assert.rejects(readImportFile('test/fixtures/npy/channels-last.npz', { idBase: 2n ** 63n - 1n }), (e: unknown) => e instanceof DataError && /would pass the int64 maximum/.test(e.message));
});

test('channel-last images are transposed to bands first', () => {
  const n = 2;
  const src = new Float32Array(n * 5120);
  for (let i = 0; i < n; i++) for (let p = 0; p < 1024; p++) for (let c = 0; c < 5; c++) src[i * 5120 + p * 5 + c] = i * 100000 + c * 10000 + p;
  const out = channelsLastToFirst(src, n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 5; c++) for (const p of [0, 1, 33, 1023]) assert.equal(out[i * 5120 + c * 1024 + p], i * 100000 + c * 10000 + p);
});
