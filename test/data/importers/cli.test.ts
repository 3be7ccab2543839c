import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalDataset } from '../../../src/data/dataset.js';
import { concatPartitions } from '../../../src/data/partition.js';
import { ExitCode } from '../../../src/errors.js';
import { readImportFile } from '../../../src/data/importers/index.js';
import { npyFloat32 } from './helpers/npy-writer.js';
import { PickleWriter } from './helpers/pickle-writer.js';
import { torchEntries } from './helpers/torch-writer.js';
import { writeZip } from './helpers/zip-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'cai-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PT = 'test/fixtures/cai-pt/partition-64.pt';
const LABELLED = 'test/fixtures/npy/labelled.npz';
const CHANNELS_LAST = 'test/fixtures/npy/channels-last.npz';
const UNLABELLED = 'test/fixtures/npy/unlabelled-dir';

function cai(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function npz(name: string, images: Float32Array, n: number): string {
  const p = join(dir, name);
  const mags = new Float32Array(n * 5).fill(18);
  writeFileSync(p, writeZip([
    { name: 'images.npy', data: npyFloat32([n, 5, 32, 32], images), method: 8 },
    { name: 'mags.npy', data: npyFloat32([n, 5], mags) },
    { name: 'z.npy', data: npyFloat32([n], new Float32Array(n).fill(0.1)) },
  ]));
  return p;
}

test('imports a .pt partition and two .npz files into one data set with continuing ids', async () => {
  const out = join(dir, 'ds');
  const r = cai('data', 'import', PT, LABELLED, CHANNELS_LAST, '--out', out, '--partition-samples', '25', '--name', 'mixed', '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { samples: number; partitions: number; labelled: boolean; files: { format: string; samples: number }[] };
  assert.deepEqual([report.samples, report.partitions, report.labelled], [69, 3, true]);
  assert.deepEqual(report.files.map((f) => [f.format, f.samples]), [['torch', 64], ['npz', 3], ['npz', 2]]);

  const ds = await openLocalDataset(out);
  assert.equal(ds.manifest.name, 'mixed');
  assert.deepEqual(ds.manifest.partitions.map((p) => p.samples), [25, 25, 19]);
  const files = (ds.manifest.source as { files: { objectId: string }[] }).files;
  assert.deepEqual(files.map((f) => f.objectId), ['sequential from 0', 'object_id', 'sequential from 64']);
  const all = concatPartitions(await Promise.all(ds.manifest.partitions.map((e) => ds.readPartition(e))));
  const pt = await readImportFile(PT);
  const npz1 = await readImportFile(LABELLED);
  const npz2 = await readImportFile(CHANNELS_LAST);
  const want = concatPartitions([pt, npz1, { ...npz2, objectId: BigInt64Array.from([64n, 65n]) }]);
  assert.deepEqual(all.image, want.image);
  assert.deepEqual(all.magnitude, want.magnitude);
  assert.deepEqual(all.redshift, want.redshift);
  assert.deepEqual(Array.from(all.objectId.subarray(62, 69)), [62n, 63n, ...npz1.objectId, 64n, 65n]);

  // The output is not silently replaced.
  const again = cai('data', 'import', PT, '--out', out);
  assert.equal(again.code, ExitCode.usage);
  assert.match(again.stderr, /already holds a data set/);
});

test('a bad file fails the import with one line naming it, and leaves no data set behind', () => {
  // Refused while planning: nothing is written at all.
  const evil = join(dir, 'evil.pt');
  const pickle = new PickleWriter().proto(2).global('os', 'system').str('echo hi').tupleN(1).reduce().stop().bytes();
  writeFileSync(evil, writeZip(torchEntries({ storages: [], tensors: [] }, pickle)));
  const out1 = join(dir, 'fail1');
  const r1 = cai('data', 'import', PT, evil, '--out', out1);
  assert.equal(r1.code, ExitCode.data);
  assert.equal(r1.stderr.trim().split('\n').length, 1, r1.stderr);
  assert.match(r1.stderr, new RegExp(`^cai: ${evil.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: refuses to load global os\\.system`));
  assert.equal(existsSync(join(out1, 'manifest.json')), false);

  // Found while streaming (a NaN in the second file): partitions already written are removed again.
  const n = 4;
  const images = new Float32Array(n * 5120);
  images[3 * 5120 + 17] = NaN;
  const nan = npz('nan.npz', images, n);
  const out2 = join(dir, 'fail2');
  const r2 = cai('data', 'import', PT, nan, '--out', out2, '--partition-samples', '10');
  assert.equal(r2.code, ExitCode.data);
  assert.match(r2.stderr, /nan\.npz: non-finite image value NaN in sample 3/);
  assert.equal(existsSync(join(out2, 'manifest.json')), false);
  assert.deepEqual(existsSync(join(out2, 'partitions')) ? readdirSync(join(out2, 'partitions')) : [], []);
});

test('labelled and unlabelled files cannot be mixed unless labels are dropped; bad flags are usage errors', () => {
  const out = join(dir, 'mixed');
  const r = cai('data', 'import', LABELLED, UNLABELLED, '--out', out);
  assert.equal(r.code, ExitCode.data);
  assert.match(r.stderr, /unlabelled-dir: has no redshifts but test\/fixtures\/npy\/labelled\.npz has/);
  const ok = cai('data', 'import', LABELLED, UNLABELLED, '--out', out, '--keys', 'redshift=none');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /imported 5 samples from 2 files into 1 partitions \(0\.\d MB, unlabelled\)/);
  const usage = cai('data', 'import', LABELLED, '--out', join(dir, 'u'), '--partition-mb', '5', '--partition-samples', '9');
  assert.equal(usage.code, ExitCode.usage);
  assert.match(usage.stderr, /give --partition-mb or --partition-samples, not both/);
});
