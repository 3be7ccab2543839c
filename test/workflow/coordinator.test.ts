// A coordinator that dies or is stopped, with real processes: `cai run` (the built CLI) killed with SIGKILL
// mid-run, stopped with SIGINT and SIGTERM, and started twice on one run id. Its worker processes must be
// gone soon after (polled in /proc), the run lock must name the owner to a second coordinator, and the same
// command must resume the run so that every sample is predicted exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { LocalProcessPool } from '../../src/compute/local-processes/engine.js';
import { LocalStorage } from '../../src/storage/index.js';
import { resultKeys, summarySchema, type Summary } from '../../src/workflow/contracts.js';
import { initialize } from '../../src/workflow/initialize.js';
import { acquireRunLock, runLockSchema } from '../../src/workflow/run-lock.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { isRunning, runCai, spawnCai, waitFor, workersOf } from './processes.js';
import { runConfig, seededModel, tempDir, writeDataset } from './support.js';

const RANKS = 6;

async function dataset(dir: string): Promise<string[]> {
  // Six ranks at two at a time: after the first rank's result there are two more waves to interrupt.
  return writeDataset({ dir: join(dir, 'data'), partitions: RANKS, perPartition: 64 });
}

function runArgs(dir: string, runId: string): string[] {
  return ['run', '--data', join(dir, 'data'), '--model', seededModel(), '--out', dir, '--world-size', String(RANKS), '--concurrency', '2', '--threads', '1', '--batch-size', '8', '--run-id', runId, '--no-report', '--json'];
}

const runDir = (dir: string, runId: string): string => join(dir, 'results', runId);
const rankResults = (dir: string, runId: string): string[] => (existsSync(runDir(dir, runId)) ? readdirSync(runDir(dir, runId)).filter((n) => /^rank-\d+\.json$/.test(n)) : []);

function predictedIds(dir: string, runId: string): string[] {
  return Array.from(parsePredictionsCsv(readFileSync(join(runDir(dir, runId), 'predictions.csv')), 'predictions.csv').objectId, String);
}

/** Every pid in `pids` has exited; returns how long that took after `since`. */
async function allExited(pids: number[], since: number): Promise<number> {
  await waitFor(`worker processes ${pids.join(', ')} to exit`, () => pids.every((p) => !isRunning(p)), 10_000);
  return Date.now() - since;
}

/** Rerun the same command: it must complete, keeping what verifies, and account for every sample once. */
async function resumeAndCheck(dir: string, runId: string, ids: string[]): Promise<Summary> {
  const r = await runCai(runArgs(dir, runId));
  assert.equal(r.code, 0, r.stderr);
  const s = summarySchema.parse(JSON.parse(r.stdout));
  assert.equal(s.status, 'complete');
  assert.equal(s.accounting.exactlyOnce, true);
  assert.equal(s.invocations.ranks, RANKS - s.ranks.reused.length, 'only the ranks without verified results ran again');
  assert.deepEqual(predictedIds(dir, runId), ids);
  assert.equal(existsSync(join(runDir(dir, runId), 'run.lock')), false, 'the lock is given back at the end');
  return s;
}

test('SIGKILL of the coordinator mid-run: its workers exit at once, and the same command resumes the run', async () => {
  const t = tempDir();
  try {
    const ids = await dataset(t.dir);
    const a = spawnCai(runArgs(t.dir, 'killed'));
    await waitFor('the first rank result', () => rankResults(t.dir, 'killed').length > 0, 120_000);
    const workers = workersOf(a.pid);
    assert.ok(workers.length > 0, 'ranks are running when the coordinator is killed');
    assert.equal(existsSync(join(runDir(t.dir, 'killed'), 'summary.json')), false, 'the run is not over yet');
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    const gone = await allExited(workers, killedAt);
    assert.ok(gone < 10_000, `workers exited ${gone} ms after their coordinator`);
    assert.equal((await a.exited).signal, 'SIGKILL');
    const done = new Set(rankResults(t.dir, 'killed'));
    // The dead coordinator's lock is still there; the rerun takes it over (its pid is gone).
    assert.equal(runLockSchema.parse(JSON.parse(readFileSync(join(runDir(t.dir, 'killed'), 'run.lock'), 'utf8'))).owner.pid, a.pid);
    const kept = new Map([...done].map((n) => [n, statSync(join(runDir(t.dir, 'killed'), n)).mtimeMs]));
    const s = await resumeAndCheck(t.dir, 'killed', ids);
    assert.ok(s.ranks.reused.length >= done.size, `ranks ${[...done].join(', ')} were done before the kill; reused ${s.ranks.reused.join(', ')}`);
    for (const [n, mtime] of kept) if (s.ranks.reused.includes(Number(/\d+/.exec(n)![0]))) assert.equal(statSync(join(runDir(t.dir, 'killed'), n)).mtimeMs, mtime, `${n} was kept as it was`);
  } finally {
    t.cleanup();
  }
});

test('a second coordinator on the same run is refused naming the owner; SIGINT stops the first (130) and leaves the run resumable', async () => {
  const t = tempDir();
  try {
    const ids = await dataset(t.dir);
    const a = spawnCai(runArgs(t.dir, 'twice'));
    await waitFor('a worker of the first coordinator', () => workersOf(a.pid).length > 0, 120_000);
    const lock = runLockSchema.parse(JSON.parse(readFileSync(join(runDir(t.dir, 'twice'), 'run.lock'), 'utf8')));
    const b = await runCai(runArgs(t.dir, 'twice'));
    assert.equal(b.code, ExitCode.unavailable, b.stderr);
    assert.equal(b.stdout, '');
    assert.equal(b.stderr, `cai: ${join(runDir(t.dir, 'twice'), 'run.lock')}: run twice is in use by pid ${a.pid} on ${hostname()} since ${lock.since}; wait for it to finish or stop it, or use another --run-id\n`);

    const workers = workersOf(a.pid);
    const stoppedAt = Date.now();
    a.child.kill('SIGINT');
    const end = await a.exited;
    assert.equal(end.code, ExitCode.interrupted, end.stderr);
    assert.equal(end.stderr, 'cai: stopped by SIGINT: run twice can be resumed by the same command (--run-id twice)\n');
    await allExited(workers, stoppedAt);
    assert.equal(existsSync(join(runDir(t.dir, 'twice'), 'run.lock')), false, 'a stopped coordinator gives the lock back');
    assert.equal(existsSync(join(runDir(t.dir, 'twice'), 'summary.json')), false);
    await resumeAndCheck(t.dir, 'twice', ids);
  } finally {
    t.cleanup();
  }
});

test('SIGTERM stops the coordinator and its workers with exit code 143', async () => {
  const t = tempDir();
  try {
    await dataset(t.dir);
    const a = spawnCai(runArgs(t.dir, 'term'));
    await waitFor('a worker of the coordinator', () => workersOf(a.pid).length > 0, 120_000);
    const workers = workersOf(a.pid);
    const stoppedAt = Date.now();
    a.child.kill('SIGTERM');
    const end = await a.exited;
    assert.equal(end.code, ExitCode.terminated, end.stderr);
    assert.match(end.stderr, /^cai: stopped by SIGTERM: run term can be resumed by the same command \(--run-id term\)\n$/);
    await allExited(workers, stoppedAt);
    assert.ok(existsSync(join(runDir(t.dir, 'term'), 'plan.json')));
    assert.equal(existsSync(join(runDir(t.dir, 'term'), 'run.lock')), false);
  } finally {
    t.cleanup();
  }
});

test('a worker of a coordinator whose run was taken over writes nothing into it', async () => {
  const t = tempDir();
  const pool = new LocalProcessPool({ concurrency: 1, memoryMb: 1024, timeoutS: 120 });
  try {
    await writeDataset({ dir: join(t.dir, 'data'), partitions: 2, perPartition: 8 });
    const storage = new LocalStorage(t.dir);
    const lock = await acquireRunLock(storage, 'taken');
    const run = runConfig({ runId: 'taken', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, lock: { token: lock.token } });
    const { ref } = await initialize({ run });
    // A new coordinator now holds the run: the old token no longer matches.
    await lock.release();
    const successor = await acquireRunLock(storage, 'taken');
    await assert.rejects(pool.invoke({ run, planKey: ref.planKey, rank: 0 }, { label: 'rank 0' }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'RunLockLostError');
      assert.match(e.message, new RegExp(`run\\.lock: run taken was taken over by pid ${process.pid} on .* since ${successor.record.since}; this process writes nothing more into it$`));
      return true;
    });
    assert.deepEqual(readdirSync(runDir(t.dir, 'taken')).sort(), ['plan.json', 'run.lock']);
    assert.equal(runLockSchema.parse(JSON.parse(readFileSync(join(t.dir, resultKeys.lock('taken')), 'utf8'))).token, successor.token);
  } finally {
    await pool.close();
    t.cleanup();
  }
});
