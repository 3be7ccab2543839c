import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../../../src/errors.js';
import { inspectImportFile, openImportSource, readImportFile } from '../../../src/data/importers/index.js';
import { parseTorchPickle } from '../../../src/data/importers/torch.js';
import { unpickle } from '../../../src/data/importers/pickle.js';
import { ZipArchive } from '../../../src/data/importers/zip.js';
import { PickleWriter } from './helpers/pickle-writer.js';
import { bytesOf, imageAndMagnitudeSpec, torchEntries, torchPickle, torchZip, type TorchFileSpec } from './helpers/torch-writer.js';
import { writeZip } from './helpers/zip-writer.js';

const FIXTURE = 'test/fixtures/cai-pt/partition-64.pt';
const EXPECTED = JSON.parse(readFileSync('test/fixtures/cai-pt/partition-64.json', 'utf8')) as {
  tensors: { index: number; dtype: string; shape: number[]; sum: number; first: number; last: number }[];
};
const dir = mkdtempSync(join(tmpdir(), 'cai-torch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function sum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** Deterministic test values: sample i, element j. */
function values(n: number, per: number, f: (i: number, j: number) => number): Float64Array {
  const out = new Float64Array(n * per);
  for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) out[i * per + j] = f(i, j);
  return out;
}

const img = (i: number, j: number): number => ((i * 31 + j) % 97) / 8;
const mag = (i: number, j: number): number => 15 + i + j / 4;
const red = (i: number): number => i / 32;

function isDataError(file: RegExp | string, problem: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.ok(typeof file === 'string' ? e.message.startsWith(file) : file.test(e.message), `message names the file: ${e.message}`);
    assert.match(e.message, problem);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  };
}

test('the real PyTorch 1.13 partition matches its JSON description', async () => {
  const p = await readImportFile(FIXTURE);
  const [ti, tm, tz] = EXPECTED.tensors;
  assert.equal(p.count, ti!.shape[0]);
  const checks: [Float32Array, (typeof EXPECTED.tensors)[number]][] = [
    [p.image, ti!],
    [p.magnitude, tm!],
    [p.redshift!, tz!],
  ];
  for (const [arr, want] of checks) {
    assert.equal(arr.length, want.shape.reduce((a, b) => a * b, 1));
    assert.ok(Math.abs(sum(arr) - want.sum) <= 1e-9 * Math.abs(want.sum), `sum ${sum(arr)} vs ${want.sum}`);
    assert.equal(arr[0], want.first);
    assert.equal(arr[arr.length - 1], want.last);
  }
  // No id array in a CAI partition: sequential ids from 0.
  assert.deepEqual([p.objectId[0], p.objectId[63]], [0n, 63n]);

  const info = await inspectImportFile(FIXTURE);
  assert.equal(info.format, 'torch');
  assert.deepEqual(info.details, { archive: 'partition-64', container: 'TensorDataset', byteorder: 'little' });
  assert.deepEqual(
    (info.arrays as { shape: number[] }[]).map((a) => a.shape),
    EXPECTED.tensors.map((t) => t.shape),
  );
});

test('the test pickle writer reproduces the real data.pkl byte for byte', async () => {
  const zip = await ZipArchive.open(FIXTURE);
  try {
    const real = await zip.read('partition-64/data.pkl');
    const storages = await Promise.all(['0', '1', '2'].map(async (key) => ({ key, type: 'FloatStorage', bytes: await zip.read(`partition-64/data/${key}`) })));
    const mine = torchPickle({ archive: 'partition-64', storages, tensors: [{ storage: '0', shape: [64, 5, 32, 32] }, { storage: '1', shape: [64, 5] }, { storage: '2', shape: [64] }] });
    assert.deepEqual(Buffer.from(mine), Buffer.from(real));
  } finally {
    zip.close();
  }
});

test('float64 storages, redshift [N,1] and a PyTorch 2.x archive layout', async () => {
  const n = 3;
  const spec: TorchFileSpec = {
    archive: 'archive',
    style: '2.x',
    storages: [
      { key: '0', type: 'DoubleStorage', bytes: bytesOf(values(n, 5120, img)) },
      { key: '1', type: 'DoubleStorage', bytes: bytesOf(values(n, 5, mag)) },
      { key: '2', type: 'DoubleStorage', bytes: bytesOf(values(n, 1, red)) },
    ],
    tensors: [
      { storage: '0', shape: [n, 5, 32, 32] },
      { storage: '1', shape: [n, 5] },
      { storage: '2', shape: [n, 1] },
    ],
  };
  const file = write('v2.pt', torchZip(spec));
  const p = await readImportFile(file);
  assert.equal(p.count, n);
  assert.deepEqual(Array.from(p.image), Array.from(values(n, 5120, img), Math.fround));
  assert.deepEqual(Array.from(p.magnitude), Array.from(values(n, 5, mag), Math.fround));
  assert.deepEqual(Array.from(p.redshift!), [0, 1 / 32, 2 / 32]);
  const info = await inspectImportFile(file);
  assert.equal((info.details as { archive: string }).archive, 'archive');
});

test('views: tensors sharing one storage at non-zero offsets, and a transposed (strided) view', async () => {
  const n = 4;
  // One float32 storage: images, then magnitudes stored band-major ([5,N]), then redshifts.
  const images = values(n, 5120, img);
  const magsT = new Float64Array(5 * n);
  for (let i = 0; i < n; i++) for (let b = 0; b < 5; b++) magsT[b * n + i] = mag(i, b);
  const zs = values(n, 1, red);
  const all = new Float32Array([...images, ...magsT, ...zs]);
  const spec: TorchFileSpec = {
    storages: [{ key: '7', type: 'FloatStorage', bytes: bytesOf(all) }],
    tensors: [
      { storage: '7', offset: 0, shape: [n, 5, 32, 32] },
      { storage: '7', offset: n * 5120, shape: [n, 5], strides: [1, n] },
      { storage: '7', offset: n * 5120 + 5 * n, shape: [n], strides: [1] },
    ],
  };
  const p = await readImportFile(write('views.pt', torchZip(spec)));
  assert.deepEqual(Array.from(p.image), Array.from(images, Math.fround));
  assert.deepEqual(Array.from(p.magnitude), Array.from(values(n, 5, mag), Math.fround));
  assert.deepEqual(Array.from(p.redshift!), Array.from(zs, Math.fround));
  // Reading in ranges gives the same rows (as the import command does).
  const src = await openImportSource(join(dir, 'views.pt'));
  try {
    const rows = await src.read('1', 1, 3);
    assert.deepEqual(rows.shape, [2, 5]);
    assert.deepEqual(Array.from(rows.data as Float32Array), Array.from(values(n, 5, mag).subarray(5, 15), Math.fround));
  } finally {
    await src.close();
  }
});

test('float16 storage, big-endian byte order, a dict container with an id tensor', async () => {
  const n = 2;
  const half = new Uint16Array(n * 5120);
  // 1.5 in float16 is 0x3e00; -2 is 0xc000.
  half.fill(0x3e00);
  half[5] = 0xc000;
  const be = (a: ArrayBufferView, size: 2 | 4 | 8): Uint8Array => {
    const b = Buffer.from(bytesOf(a));
    if (size === 2) b.swap16();
    if (size === 4) b.swap32();
    if (size === 8) b.swap64();
    return b;
  };
  const ids = BigInt64Array.from([1237648720693755918n, 1237648720693755919n]);
  const spec: TorchFileSpec = {
    byteorder: 'big',
    container: { dict: ['images', 'mags', 'objid'] },
    storages: [
      { key: '0', type: 'HalfStorage', bytes: be(half, 2) },
      { key: '1', type: 'FloatStorage', bytes: be(new Float32Array(values(n, 5, mag)), 4) },
      { key: '2', type: 'LongStorage', bytes: be(ids, 8) },
    ],
    tensors: [
      { storage: '0', shape: [n, 5, 32, 32] },
      { storage: '1', shape: [n, 5] },
      { storage: '2', shape: [n] },
    ],
  };
  const p = await readImportFile(write('half-be.pt', torchZip(spec)));
  assert.equal(p.image[0], 1.5);
  assert.equal(p.image[5], -2);
  assert.deepEqual(Array.from(p.magnitude), Array.from(values(n, 5, mag), Math.fround));
  assert.equal(p.redshift, undefined);
  assert.deepEqual(Array.from(p.objectId), Array.from(ids));
});

test('a pickle that names os.system or builtins.eval is refused without running anything', async () => {
  const marker = join(dir, 'pwned');
  const viaGlobal = new PickleWriter().proto(2).global('os', 'system').str(`touch ${marker}`).tupleN(1).reduce().stop().bytes();
  const viaStack = new PickleWriter().proto(4).stackGlobal('builtins', 'eval').shortUnicode('1+1').raw(0x85).reduce().stop().bytes();
  const a = write('system.pt', writeZip(torchEntries({ storages: [], tensors: [] }, viaGlobal)));
  const b = write('eval.pt', writeZip(torchEntries({ storages: [], tensors: [] }, viaStack)));
  await assert.rejects(readImportFile(a), isDataError(a, /refuses to load global os\.system/));
  await assert.rejects(inspectImportFile(b), isDataError(b, /refuses to load global builtins\.eval/));
  assert.equal(existsSync(marker), false);
  // The allowlist holds inside a TensorDataset as well.
  const nested = new PickleWriter().proto(2).global('torch.utils.data.dataset', 'TensorDataset').emptyTuple().newobj().emptyDict().str('tensors').global('posix', 'system').str('id').tupleN(1).reduce().tupleN(1).setitem().build().stop().bytes();
  assert.throws(() => parseTorchPickle(nested, 'nested.pt'), isDataError('nested.pt', /refuses to load global posix\.system/));
});

test('storage sizes are checked before any allocation', async () => {
  const n = 2;
  const base = (): TorchFileSpec => imageAndMagnitudeSpec(n);
  // The persistent id claims fewer elements than the tensor needs.
  const short = base();
  short.storages[0]!.numel = 100;
  short.storages[0]!.bytes = bytesOf(new Float32Array(100));
  const f1 = write('short.pt', torchZip(short));
  await assert.rejects(readImportFile(f1), isDataError(f1, /needs 10240 elements but storage 0 holds 100/));
  // The zip entry holds fewer bytes than the persistent id claims.
  const lying = base();
  lying.storages[0]!.bytes = new Uint8Array(1000);
  lying.storages[0]!.numel = n * 5120;
  const f2 = write('lying.pt', torchZip(lying));
  await assert.rejects(readImportFile(f2), isDataError(f2, /storage 0 holds 1000 bytes but its 10240 float32 elements need 40960/));
  // An absurd shape is refused from the pickle alone.
  const huge = base();
  huge.tensors[0]!.shape = [2 ** 40, 5, 32, 32];
  huge.tensors[0]!.strides = [0, 1024, 32, 1];
  const f3 = write('huge.pt', torchZip(huge));
  await assert.rejects(inspectImportFile(f3), isDataError(f3, /exceeds the \d+-byte limit/));
  // A storage entry that inflates past the size its directory declares (a zip bomb in miniature).
  const bomb = torchEntries(base());
  const entry = bomb.find((e) => e.name.endsWith('/data/0'))!;
  entry.declaredSize = entry.data.length;
  entry.data = new Uint8Array(entry.data.length * 8);
  entry.method = 8;
  const f4 = write('bomb.pt', writeZip(bomb));
  await assert.rejects(readImportFile(f4), isDataError(f4, /too many bytes|inflates past/));
});

test('legacy, bare-pickle, truncated and malformed files get clear one-line errors', async () => {
  const legacy = write('legacy.pt', Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
  await assert.rejects(readImportFile(legacy), isDataError(legacy, /legacy \(pre-1\.6, non-zip\) torch\.save file/));
  const bare = write('bare.pkl', new PickleWriter().proto(2).none().stop().bytes());
  await assert.rejects(readImportFile(bare), isDataError(bare, /bare pickle/));
  const good = torchPickle({ storages: [{ key: '0', type: 'FloatStorage', bytes: new Uint8Array(4) }], tensors: [{ storage: '0', shape: [1] }] });
  assert.throws(() => parseTorchPickle(good.subarray(0, good.length - 10), 'cut.pt'), isDataError('cut.pt', /pickle: truncated/));
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x49, 0x31, 0x0a, 0x2e]), { file: 'p0.pt', allowedGlobals: new Set() }), isDataError('p0.pt', /unsupported opcode 0x49/));
  const manyPuts = new PickleWriter().proto(2).emptyList();
  for (let i = 0; i < 20; i++) manyPuts.put();
  assert.throws(() => unpickle(manyPuts.stop().bytes(), { file: 'memo.pt', allowedGlobals: new Set(), maxMemo: 10 }), isDataError('memo.pt', /memo exceeds 10 entries/));
  const deep = new PickleWriter().proto(2);
  for (let i = 0; i < 50; i++) deep.emptyList();
  assert.throws(() => unpickle(deep.stop().bytes(), { file: 'stack.pt', allowedGlobals: new Set(), maxStack: 20 }), isDataError('stack.pt', /stack exceeds 20 items/));
  const notZip = write('garbage.pt', Buffer.from('PK\x03\x04 this is not really a zip archive'));
  await assert.rejects(readImportFile(notZip), isDataError(notZip, /zip/));
  const noPickle = write('nopkl.pt', writeZip([{ name: 'x/data/0', data: new Uint8Array(4) }]));
  await assert.rejects(readImportFile(noPickle), isDataError(noPickle, /no <archive>\/data\.pkl/));
});
