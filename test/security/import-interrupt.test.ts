// An import stopped by SIGINT removes what it wrote, ends as the signal would (exit 130 in a shell), and
// the same command run again succeeds. Exercised on a real `cai data import` child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openLocalDataset } from '../../src/data/dataset.js';
import { npyBytes, npyFloat32 } from '../data/importers/helpers/npy-writer.js';
import { cai, tempDir } from './helpers.js';

/** A directory of .npy files holding `n` samples (zero images, magnitude 18). */
function writeSource(dir: string, n: number): void {
  mkdirSync(dir);
  const fd = openSync(join(dir, 'images.npy'), 'w');
  writeSync(fd, npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 5, 32, 32), }`));
  const block = Buffer.alloc(5120 * 4 * 100);
  for (let i = 0; i < n; i += 100) writeSync(fd, block);
  closeSync(fd);
  writeFileSync(join(dir, 'mags.npy'), npyFloat32([n, 5], new Float32Array(n * 5).fill(18)));
}

const partitionFiles = (out: string): string[] => (existsSync(join(out, 'partitions')) ? readdirSync(join(out, 'partitions')) : []);

test('SIGINT during an import removes its partitions; the rerun then imports everything', async (t) => {
  const dir = tempDir(t, 'cai-interrupt-');
  const src = join(dir, 'source');
  // 6000 samples in 60 partitions: about 120 MB to write, far more than the time a signal takes to arrive.
  const n = 6000;
  writeSource(src, n);
  const out = join(dir, 'out');
  const args = ['data', 'import', src, '--out', out, '--partition-samples', '100'];
  const root = new URL('../..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let finishedEarly = false;
  void exited.then(() => (finishedEarly = true));
  // Wait until the import has written partitions, then interrupt it.
  const deadline = Date.now() + 120_000;
  while (partitionFiles(out).length === 0 && !finishedEarly && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(!finishedEarly, `the import ended before it wrote a partition: ${stderr}`);
  child.kill('SIGINT');
  const { code, signal } = await exited;
  // The process ends the way SIGINT ends it (a shell reports 130), after removing what it wrote.
  assert.ok(signal === 'SIGINT' || code === 130, `the import was not interrupted: code ${code}, signal ${signal}, ${stderr}`);
  assert.equal(existsSync(join(out, 'manifest.json')), false, 'an interrupted import writes no manifest');
  assert.deepEqual(partitionFiles(out), [], 'no partition (or temporary file) is left behind');

  // The same command again: the output is accepted and the whole source is imported.
  const again = await cai(args);
  assert.equal(again.code, 0, again.stderr);
  const ds = await openLocalDataset(out);
  assert.equal(ds.manifest.samples, n);
  assert.equal(ds.manifest.partitions.length, n / 100);
  assert.equal(partitionFiles(out).length, n / 100);
});
