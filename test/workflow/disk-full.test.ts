// A results directory that fills up or turns read-only mid-run, for real: a small tmpfs mounted by the test
// (root only; skipped with the reason otherwise) and always unmounted. The run must stop with one line
// naming the file and exit 7, leave no object half-written, and resume once the space or the write access is
// back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { planSchema, rankResultSchema, summarySchema } from '../../src/workflow/contracts.js';
import { scaled } from '../support/time-scale.js';
import { runCai, spawnCai, waitFor } from './processes.js';
import { seededModel, tempDir, writeDataset } from './support.js';

const RANKS = 4;
const PAGE = 4096;

function sh(cmd: string, args: string[]): { ok: boolean; text: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, text: `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

/** Why the tmpfs tests cannot run here, or undefined when they can (a probe mount is made and removed). */
function cannotMount(): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const probe = mkdtempSync(join(tmpdir(), 'cai-tmpfs-probe-'));
  try {
    const m = sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    if (!m.ok) return `mount -t tmpfs failed: ${m.text}`;
    sh('umount', [probe]);
    return undefined;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const skip = cannotMount();

/** A tmpfs of `size` at a fresh directory; `unmount` always succeeds in taking it away (lazily if busy). */
function mountTmpfs(size: string): { dir: string; remount(mode: 'ro' | 'rw'): boolean; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cai-tmpfs-'));
  const m = sh('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (!m.ok) throw new Error(`mount failed: ${m.text}`);
  return {
    dir,
    remount: (mode) => sh('mount', ['-o', `remount,${mode}`, dir]).ok,
    unmount() {
      if (!sh('umount', [dir]).ok) sh('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function runArgs(data: string, out: string, runId: string): string[] {
  // One rank at a time, so the ranks write in order and the failure lands between two of them.
  return ['run', '--data', data, '--model', seededModel(), '--out', out, '--world-size', String(RANKS), '--concurrency', '1', '--threads', '1', '--batch-size', '8', '--run-id', runId, '--no-report', '--json'];
}

/**
 * Nothing in the run's directory is half-written: every rank result parses and matches its plan entry, every
 * predictions file holds all of its rank's rows. Returns the ranks with a result.
 */
function checkNothingHalfWritten(runDir: string): number[] {
  const names = readdirSync(runDir);
  const plan = planSchema.parse(JSON.parse(readFileSync(join(runDir, 'plan.json'), 'utf8')));
  const done: number[] = [];
  for (const n of names) {
    const csv = /^rank-(\d+)\.predictions\.csv$/.exec(n);
    if (csv) assert.equal(parsePredictionsCsv(readFileSync(join(runDir, n)), n).zPred.length, plan.ranks[Number(csv[1])]!.samples, `${n} is complete`);
    const res = /^rank-(\d+)\.json$/.exec(n);
    if (res) {
      const r = rankResultSchema.parse(JSON.parse(readFileSync(join(runDir, n), 'utf8')));
      assert.equal(r.samples, plan.ranks[Number(res[1])]!.samples);
      assert.ok(names.includes(n.replace('.json', '.predictions.csv')), `${n} points to predictions that exist`);
      done.push(Number(res[1]));
    }
  }
  return done.sort((a, b) => a - b);
}

async function resumes(data: string, out: string, runId: string, ids: string[], keptBefore: number[]): Promise<void> {
  const r = await runCai(runArgs(data, out, runId));
  assert.equal(r.code, 0, r.stderr);
  const s = summarySchema.parse(JSON.parse(r.stdout));
  assert.equal(s.status, 'complete');
  assert.equal(s.accounting.exactlyOnce, true);
  assert.deepEqual(s.ranks.reused, keptBefore, 'the ranks finished before the failure are kept');
  const csv = parsePredictionsCsv(readFileSync(join(out, 'results', runId, 'predictions.csv')), 'predictions.csv');
  assert.deepEqual(Array.from(csv.objectId, String), ids);
}

test('a results directory that fills up mid-run: one line naming the file, exit 7, nothing half-written, resumed once space is back', { skip }, async () => {
  const t = tempDir();
  const fs = mountTmpfs('512k');
  try {
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: RANKS, perPartition: 64 });
    // Room for the lock, the plan and the first rank's two files (a page each on tmpfs), not for the second's.
    const filler = join(fs.dir, 'filler');
    const st = statfsSync(fs.dir);
    writeFileSync(filler, Buffer.alloc(Number(st.bavail) * Number(st.bsize) - 4 * PAGE));
    mkdirSync(join(fs.dir, 'results'));
    const r = await runCai(runArgs(join(t.dir, 'data'), fs.dir, 'full'));
    assert.equal(r.code, ExitCode.unavailable, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^cai: ${fs.dir}/results/full/rank-\\d{5}\\.(predictions\\.csv|json): no space left on the device \\(ENOSPC\\); run full stopped and can be resumed: rerun the same command once the results location is writable$`));
    const runDir = join(fs.dir, 'results', 'full');
    const done = checkNothingHalfWritten(runDir);
    assert.deepEqual(readdirSync(runDir).filter((n) => n.endsWith('.cai-tmp')), [], 'no temp file is left');
    assert.ok(done.length < RANKS, 'the disk filled before the last rank');

    rmSync(filler);
    await resumes(join(t.dir, 'data'), fs.dir, 'full', ids, done);
  } finally {
    fs.unmount();
    t.cleanup();
  }
});

test('a results directory that turns read-only mid-run: one line naming the file, exit 7, resumed once writable again', { skip }, async () => {
  const t = tempDir();
  const fs = mountTmpfs('8m');
  try {
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: RANKS, perPartition: 64 });
    const runDir = join(fs.dir, 'results', 'ro');
    const a = spawnCai(runArgs(join(t.dir, 'data'), fs.dir, 'ro'));
    await waitFor('the first rank result', () => readdirSyncSafe(runDir).includes('rank-00000.json'), 120_000);
    // A remount is refused while a file is open for writing; the next instant it is not.
    const deadline = Date.now() + scaled(10_000);
    while (!fs.remount('ro')) {
      if (Date.now() > deadline) throw new Error('could not remount the tmpfs read-only');
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await a.exited;
    assert.equal(r.code, ExitCode.unavailable, r.stderr);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^cai: ${fs.dir}/results/ro/[a-z0-9.-]+: read-only file system \\(EROFS\\); run ro stopped and can be resumed: rerun the same command once the results location is writable$`));
    const done = checkNothingHalfWritten(runDir);
    assert.ok(done.includes(0) && done.length < RANKS, `ranks with results: ${done.join(', ')}`);

    assert.ok(fs.remount('rw'));
    // The lock could not be removed on a read-only file system; its owner is gone, so the rerun takes it over.
    assert.ok(readdirSync(runDir).includes('run.lock'));
    await resumes(join(t.dir, 'data'), fs.dir, 'ro', ids, done);
  } finally {
    fs.unmount();
    t.cleanup();
  }
});

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
