import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalDataset } from '../../src/data/dataset.js';
import { ExitCode } from '../../src/errors.js';
import { npyFloat32 } from './importers/helpers/npy-writer.js';

function cai(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function ids(dir: string): Promise<string[]> {
  const ds = await openLocalDataset(dir);
  const out: string[] = [];
  for (const e of ds.manifest.partitions) out.push(...Array.from((await ds.readPartition(e)).objectId, String));
  return out;
}

test('cai data synth, inspect and repartition', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-cli-data-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'src');

  const synth = cai('data', 'synth', '--samples', '75', '--seed', '4', '--partition-samples', '20', '--out', src, '--json');
  assert.equal(synth.code, 0, synth.stderr);
  const made = JSON.parse(synth.stdout);
  assert.equal(made.samples, 75);
  assert.equal(made.partitions, 4);
  assert.equal(made.manifest, join(src, 'manifest.json'));

  const again = cai('data', 'synth', '--samples', '5', '--out', src);
  assert.equal(again.code, ExitCode.usage);
  assert.match(again.stderr, /already holds a data set/);

  const inspect = cai('data', 'inspect', src, '--verify', '--json');
  assert.equal(inspect.code, 0, inspect.stderr);
  const info = JSON.parse(inspect.stdout);
  assert.equal(info.samples, 75);
  assert.equal(info.partitions, 4);
  assert.deepEqual(info.tensors.image, { dtype: 'float32', shape: [5, 32, 32] });
  assert.equal(info.verified.ok, true);
  assert.ok(info.values.redshift.min >= 0.01 && info.values.redshift.max <= 0.5 && info.values.redshift.min < info.values.redshift.median);
  assert.ok(info.values.magnitude.r.max < 18);
  assert.equal(info.source.seed, 4);

  const out = join(dir, 'big');
  const rep = cai('data', 'repartition', '--data', join(src, 'manifest.json'), '--out', out, '--partition-mb', '1', '--json');
  assert.equal(rep.code, 0, rep.stderr);
  assert.deepEqual((await openLocalDataset(out)).manifest.partitions.map((p) => p.samples), [48, 27]);
  assert.deepEqual(await ids(out), await ids(src));

  const part = cai('data', 'inspect', join(out, 'partitions', 'part-00001.safetensors'));
  assert.equal(part.code, 0, part.stderr);
  assert.match(part.stdout, /samples\s+27, /);
  assert.match(part.stdout, /object_id int64 \[\]/);

  const noSize = cai('data', 'repartition', '--data', src, '--out', join(dir, 'x'));
  assert.equal(noSize.code, ExitCode.usage);
  assert.match(noSize.stderr, /partition size/);
  const both = cai('data', 'synth', '--samples', '5', '--partition-mb', '1', '--partition-samples', '2', '--out', join(dir, 'y'));
  assert.equal(both.code, ExitCode.usage);
  assert.equal(cai('data', 'synth', '--samples', '-3', '--out', join(dir, 'z')).code, ExitCode.usage);
});

test('cai data inspect --verify prints every problem, one line each naming the file, and exits 3', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-cli-verify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(cai('data', 'synth', '--samples', '30', '--partition-samples', '10', '--out', dir).code, 0);
  const p0 = join(dir, 'partitions', 'part-00000.safetensors');
  const p2 = join(dir, 'partitions', 'part-00002.safetensors');
  truncateSync(p0, 5000);
  const bytes = readFileSync(p2);
  bytes[bytes.length - 7]! ^= 0x55;
  writeFileSync(p2, bytes);

  const r = cai('data', 'inspect', dir, '--verify');
  assert.equal(r.code, ExitCode.data, r.stderr);
  assert.match(r.stdout, /verify\s+FAILED: 2 problems in 3 partitions/);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('  '));
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^  ${p0}: is 5000 bytes but the manifest says \\d+ \\(truncated\\)$`));
  assert.match(lines[1]!, new RegExp(`^  ${p2}: sha256 mismatch`));

  const plain = cai('data', 'inspect', dir);
  assert.equal(plain.code, ExitCode.data);
  assert.match(plain.stderr, /^cai: .*part-00000\.safetensors: is 5000 bytes/);
  assert.equal(plain.stderr.trim().split('\n').length, 1, 'one-line error');

  const manifestPath = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
  m.partitions[1].path = '../../etc/passwd';
  writeFileSync(manifestPath, JSON.stringify(m));
  const hostile = cai('data', 'inspect', dir, '--verify');
  assert.equal(hostile.code, ExitCode.data);
  assert.match(hostile.stderr, new RegExp(`^cai: ${manifestPath}: invalid manifest at partitions.1.path: path must be relative`));

  const missing = cai('data', 'inspect', join(dir, 'nothing-here'));
  assert.equal(missing.code, ExitCode.data);
  assert.match(missing.stderr, /nothing-here: not found/);
});

test('cai data inspect summarizes a foreign .npy file through the importers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-cli-npy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A version 1.0 .npy file holding float32 [2, 5, 32, 32].
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5, 32, 32), }";
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const file = join(dir, 'images.npy');
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.alloc(2 * 5 * 32 * 32 * 4)]));
  const r = cai('data', 'inspect', file, '--json');
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.kind, 'foreign');
  assert.deepEqual(info.arrays[0].shape, [2, 5, 32, 32]);
  assert.equal(info.arrays[0].dtype, 'float32');
});

test('cai data inspect prints a readable summary of a foreign file, and the same facts with --json', () => {
  const file = 'test/fixtures/npy/labelled.npz';
  const text = cai('data', 'inspect', file);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(!text.stdout.trimStart().startsWith('{'), 'human form, not JSON');
  assert.match(text.stdout, /^format\s+npz, 2\.1 kB$/m);
  assert.match(text.stdout, /^\s+magnitudes\s+float64\s+\[3,5\]$/m);
  assert.match(text.stdout, /^import\s+3 samples, labelled$/m);
  assert.match(text.stdout, /^\s+image\s+<- images float32 \[3,5,32,32\] \(channels-first\)$/m);
  assert.match(text.stdout, /^\s+redshift\s+<- redshifts float64 \[3,1\]$/m);
  assert.match(text.stdout, /^\s+object_id\s+<- object_id int64 \[3\]$/m);

  const json = JSON.parse(cai('data', 'inspect', file, '--json').stdout);
  assert.equal(json.kind, 'foreign');
  assert.equal(json.samples, 3);
  assert.equal(json.mapping.image.array, 'images');

  // A file that holds only part of a data set says why it cannot be imported as it is.
  const lone = cai('data', 'inspect', 'test/fixtures/npy/unlabelled-dir/images.npy');
  assert.equal(lone.code, 0, lone.stderr);
  assert.match(lone.stdout, /^import\s+not possible as it is: a single \.npy holds one array \(images\)/m);
});

test('an output that cannot be a directory is a one-line usage error before any work', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-cli-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'plain.txt');
  writeFileSync(file, 'not a directory');
  const synth = cai('data', 'synth', '--samples', '3', '--out', join(file, 'sub'));
  assert.equal(synth.code, ExitCode.usage);
  assert.equal(synth.stderr.trim(), `cai: --out ${join(file, 'sub')}: ${file} is not a directory`);
  const imp = cai('data', 'import', 'test/fixtures/npy/labelled.npz', '--out', file);
  assert.equal(imp.code, ExitCode.usage);
  assert.equal(imp.stderr.trim(), `cai: --out ${file}: exists and is not a directory`);
  const model = cai('model', 'build', '--uncalibrated', '--out', dir);
  assert.equal(model.code, ExitCode.usage);
  assert.equal(model.stderr.trim(), `cai: --out ${dir}: is a directory; give a file name`);
  assert.equal(readFileSync(file, 'utf8'), 'not a directory');
});

test('cai data inspect --verify reads every sample of a foreign file and names a non-finite value', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-cli-verify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const arrays = join(dir, 'arrays');
  mkdirSync(arrays);
  const images = new Float32Array(4 * 5120).fill(0.5);
  writeFileSync(join(arrays, 'images.npy'), npyFloat32([4, 5, 32, 32], images));
  const mags = new Float32Array(20).fill(18);
  mags[3 * 5 + 2] = NaN;
  writeFileSync(join(arrays, 'mags.npy'), npyFloat32([4, 5], mags));

  const r = cai('data', 'inspect', arrays, '--verify');
  assert.equal(r.code, ExitCode.data, r.stderr);
  assert.match(r.stdout, /^verify\s+FAILED: 1 problem in 4 samples read$/m);
  assert.match(r.stdout, new RegExp(`^  ${arrays}: non-finite magnitude value NaN in sample 3$`, 'm'));

  mags[3 * 5 + 2] = 18;
  writeFileSync(join(arrays, 'mags.npy'), npyFloat32([4, 5], mags));
  const ok = cai('data', 'inspect', arrays, '--verify', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).verified, { ok: true, checked: 4, problems: [] });
});
