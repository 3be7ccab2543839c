// Zip containers (.npz, PyTorch .pt), .npy headers and pickles: every count, size, offset and name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { openImportSource, readImportFile } from '../../src/data/importers/index.js';
import { MAX_PICKLE_DEPTH, unpickle } from '../../src/data/importers/pickle.js';
import { MAX_INFLATED_ENTRY_BYTES, ZipArchive } from '../../src/data/importers/zip.js';
import { npyBytes, npyFloat32 } from '../data/importers/helpers/npy-writer.js';
import { PickleWriter } from '../data/importers/helpers/pickle-writer.js';
import { imageAndMagnitudeSpec, torchEntries } from '../data/importers/helpers/torch-writer.js';
import { writeZip, type ZipInput } from '../data/importers/helpers/zip-writer.js';
import { dataError, tempDir } from './helpers.js';

const mags = (n: number): Uint8Array => npyFloat32([n, 5], new Float32Array(n * 5).fill(18));

/** Patch the 16-bit compression method of every local and central header. */
function withMethod(zip: Uint8Array, method: number): Uint8Array {
  const b = Buffer.from(zip);
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = b.readUInt32LE(i);
    if (sig === 0x04034b50) b.writeUInt16LE(method, i + 8);
    else if (sig === 0x02014b50) b.writeUInt16LE(method, i + 10);
  }
  return new Uint8Array(b);
}

test('.npz member names must be plain relative paths naming distinct arrays', async (t) => {
  const dir = tempDir(t);
  const arr = npyFloat32([1], new Float32Array(1));
  const cases: [string[], RegExp][] = [
    [['../escape.npy'], /corrupt zip archive \(invalid relative path: \.\.\/escape\.npy\)/],
    [['/etc/abs.npy'], /corrupt zip archive \(absolute path: \/etc\/abs\.npy\)/],
    [['C:/win.npy'], /absolute path/],
    [['a\\b.npy'], /invalid characters in fileName/],
    [['a//b.npy'], /zip entry name "a\/\/b\.npy" is not a plain relative path inside the archive/],
    [['./x.npy'], /zip entry name "\.\/x\.npy" is not a plain relative path/],
    [['x.npy', 'x.npy'], /zip entry "x\.npy" appears twice/],
    [['.npy'], /\.npz entry \.npy does not name a distinct array/],
    [['n\u0000ul.npy'], /not a plain relative path/],
    [['x'.repeat(2000) + '.npy'], /zip entry name of 2004 characters is too long/],
  ];
  for (const [names, problem] of cases) {
    const f = join(dir, `case.npz`);
    writeFileSync(f, writeZip(names.map((name) => ({ name, data: arr }))));
    await assert.rejects(openImportSource(f), dataError(f, problem), String(problem));
  }
});

test('zip layout: entry counts, methods, overlapping entries and sizes deflate cannot produce are refused up front', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'z.npz');
  // An end record that claims 65,535 entries and holds none.
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  writeFileSync(f, eocd);
  await assert.rejects(ZipArchive.open(f), dataError(f, /corrupt zip archive \(unexpected EOF\)/));
  // bzip2 (method 12) and other methods are not read.
  writeFileSync(f, withMethod(writeZip([{ name: 'images.npy', data: mags(1) }]), 12));
  await assert.rejects(ZipArchive.open(f), dataError(f, /zip entry "images\.npy" uses compression method 12/));
  // Two directory entries pointing at the same bytes: the classic way to make a small zip inflate to terabytes.
  const one = Buffer.from(writeZip([{ name: 'a.npy', data: mags(1) }]));
  const cdAt = one.readUInt32LE(one.length - 6);
  const cd = one.subarray(cdAt, one.length - 22);
  const second = Buffer.from(cd);
  second.write('b', 46); // same length name, same offset 0
  const eo = Buffer.from(one.subarray(one.length - 22));
  eo.writeUInt16LE(2, 8);
  eo.writeUInt16LE(2, 10);
  eo.writeUInt32LE(cd.length * 2, 12);
  writeFileSync(f, Buffer.concat([one.subarray(0, cdAt), cd, second, eo]));
  await assert.rejects(ZipArchive.open(f), dataError(f, /zip entry "(a|b)\.npy" overlaps entry "(a|b)\.npy" \(entries must not share bytes\)/));
  // A deflated entry claiming more than 1032 bytes per compressed byte.
  writeFileSync(f, writeZip([{ name: 'images.npy', data: mags(1), method: 8, declaredSize: 2 ** 31 }]));
  await assert.rejects(ZipArchive.open(f), dataError(f, /claims 2147483648 bytes from \d+ compressed bytes, more than deflate can produce \(1032:1\)/));
});

test('a .npz deflate bomb costs the rows read, not its declared size; inflation is held to that size', async (t) => {
  const dir = tempDir(t);
  const n = 5000; // 102 MB of zero images from about 100 kB
  const images = npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 5, 32, 32), }`, new Uint8Array(n * 5120 * 4));
  const f = join(dir, 'bomb.npz');
  writeFileSync(f, writeZip([{ name: 'images.npy', data: images, method: 8 }, { name: 'mags.npy', data: mags(n) }]));
  const before = process.memoryUsage().arrayBuffers;
  const src = await openImportSource(f);
  try {
    const rows = await src.read('images', 0, 10);
    assert.equal(rows.data.length, 10 * 5120);
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 40e6, `reading 10 rows of a 102 MB compressed array grew buffers by ${(grew / 1e6).toFixed(1)} MB`);
    // Rows further on are reached by inflating forward; going back restarts.
    const later = await src.read('images', 4990, 5000);
    assert.equal(later.shape[0], 10);
    assert.equal((await src.read('images', 3, 4)).data.length, 5120);
  } finally {
    await src.close();
  }
  // An entry that inflates past what its directory declares is stopped while inflating.
  const lying = join(dir, 'lying.npz');
  const body = npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 5, 32, 32), }`, new Uint8Array(5120 * 4));
  const entries: ZipInput[] = [{ name: 'images.npy', data: new Uint8Array(Buffer.concat([body, new Uint8Array(1 << 20)])), method: 8, declaredSize: body.length }, { name: 'mags.npy', data: mags(1) }];
  writeFileSync(lying, writeZip(entries));
  await assert.rejects(readImportFile(lying), dataError(lying, /inflates past its declared \d+ bytes|too many bytes/));
  // A compressed Fortran-order array must be loaded whole: refused beyond the cap, before inflating.
  const fortran = join(dir, 'fortran.npz');
  const rows = Math.ceil((MAX_INFLATED_ENTRY_BYTES + 1) / (5 * 4));
  const head = npyBytes(`{'descr': '<f4', 'fortran_order': True, 'shape': (${rows}, 5), }`);
  // Incompressible filler, so that the declared size stays within what deflate could produce.
  const filler = Buffer.alloc(400_000);
  for (let i = 0, x = 1; i < filler.length; i++) filler[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  const packed = deflateRawSync(Buffer.concat([head, filler]));
  writeFileSync(fortran, writeZip([{ name: 'mags.npy', data: head, body: packed, method: 8, declaredSize: head.length + rows * 20 }]));
  const fsrc = await openImportSource(fortran);
  try {
    await assert.rejects(fsrc.read('mags', 0, 1), dataError(fortran, new RegExp(`zip entry mags\\.npy is \\d+ bytes \\(limit ${MAX_INFLATED_ENTRY_BYTES} for a compressed entry read whole; store it uncompressed\\)`)));
  } finally {
    await fsrc.close();
  }
});

test('.npy headers: versions, lengths, dimensions and dtypes are checked before any data is read', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'h.npy');
  const raw = (major: number, len: number, text = ''): Uint8Array => {
    const pre = Buffer.alloc(major === 1 ? 10 : 12);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(pre);
    if (major === 1) pre.writeUInt16LE(len, 8);
    else pre.writeUInt32LE(len, 8);
    return new Uint8Array(Buffer.concat([pre, Buffer.from(text)]));
  };
  const cases: [Uint8Array, RegExp][] = [
    [raw(2, 0xffffffff), /\.npy header exceeds the 65536-byte limit/],
    [raw(9, 10), /unsupported \.npy format version 9\.0/],
    [raw(1, 500, "{'descr': '<f4'"), /truncated \.npy header/],
    [npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }"), /has 9 dimensions \(at most 8 are supported\)/],
    [npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-5, 5), }"), /invalid dimension -5/],
    [npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (9007199254740993,), }"), /out of range/],
    [npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(20)}1${')'.repeat(20)}, }`), /nesting too deep/],
    [npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), /holds Python objects/],
    [npyBytes("{'descr': '<f4', 'fortran_order': 'yes', 'shape': (1,), }", new Uint8Array(4)), /lacks fortran_order/],
    [npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(12)), /has 4 bytes of data but its shape \[2\] \(<f4\) needs 8|has 12 bytes of data/],
  ];
  for (const [bytes, problem] of cases) {
    writeFileSync(f, bytes);
    await assert.rejects(openImportSource(f), dataError(f, problem), String(problem));
  }
});

test('pickles that nest deeply, build many values, loop or grow after use are refused in bounded time', () => {
  const opts = { file: 'p.pkl', allowedGlobals: new Set<string>() };
  const deep = new PickleWriter().proto(2);
  for (let i = 0; i <= MAX_PICKLE_DEPTH; i++) deep.emptyList();
  for (let i = 0; i < MAX_PICKLE_DEPTH; i++) deep.raw(0x61); // APPEND the inner list into the outer one
  assert.throws(() => unpickle(deep.stop().bytes(), opts), dataError('p.pkl', new RegExp(`containers nest more than ${MAX_PICKLE_DEPTH} deep`)));
  const tuples = new PickleWriter().proto(2).none();
  for (let i = 0; i < 1000; i++) tuples.raw(0x85); // TUPLE1, a thousand deep
  assert.throws(() => unpickle(tuples.stop().bytes(), opts), dataError('p.pkl', /containers nest more than 100 deep/));
  // Two bytes per new empty list appended to one list: a pickle of a few MB would build millions.
  const wide = new PickleWriter().proto(2).emptyList();
  for (let i = 0; i < 1_100_000; i++) wide.raw(0x5d, 0x61);
  const t0 = performance.now();
  assert.throws(() => unpickle(wide.stop().bytes(), opts), dataError('p.pkl', /builds more than 1000000 values/));
  assert.ok(performance.now() - t0 < 20_000);
  // A list appended to itself (a cycle), and a list changed after being placed in another.
  assert.throws(() => unpickle(new PickleWriter().proto(2).emptyList().raw(0x32, 0x61).stop().bytes(), opts), dataError('p.pkl', /holds itself/));
  const later = new PickleWriter().proto(2).emptyList().put().emptyList().raw(0x68, 0x00, 0x61).raw(0x68, 0x00).none().raw(0x61, 0x30).stop().bytes();
  assert.throws(() => unpickle(later, opts), dataError('p.pkl', /modifies a value already placed inside another/));
  // Lengths at their extremes never allocate.
  const lengths: [number[], RegExp][] = [
    [[0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], /length \d+ exceeds the pickle size/],
    [[0x58, 0xff, 0xff, 0xff, 0xff], /string of 4294967295 bytes is too long|truncated/],
    [[0x42, 0x00, 0x00, 0x00, 0x10], /string of 268435456 bytes is too long/],
    [[0x42, 0x00, 0x00, 0x10, 0x00], /truncated/],
    [[0x8b, 0xff, 0xff, 0xff, 0x7f], /integer of 2147483647 bytes is too long/],
    [[0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /exceeds the pickle size/],
    [[0x6a, 0xff, 0xff, 0xff, 0xff], /memo key 4294967295 was never stored/],
    [[0x63, ...Buffer.from('a'.repeat(5000))], /unterminated or overlong text line/],
  ];
  for (const [ops, problem] of lengths) assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, ...ops, 0x2e]), opts), dataError('p.pkl', problem), String(problem));
});

test('a deflated .pt storage within the whole-entry cap is read like a stored one', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'big.pt');
  const n = 1;
  const entries = torchEntries(imageAndMagnitudeSpec(n));
  for (const e of entries) if (e.name.endsWith('/data/0')) e.method = 8;
  writeFileSync(f, writeZip(entries));
  // Within the cap a deflated storage reads fine (torch.save stores, but other writers may deflate).
  const p = await readImportFile(f);
  assert.equal(p.count, 1);
});
