// The run lock on real storage: a directory and the loopback S3 server. Owners are real processes: this one
// (alive), and one that ran and exited (gone), so staleness is decided the way a coordinator decides it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LocalStorage, S3Storage } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/types.js';
import { RunLockLostError, RunLockedError, acquireRunLock, guardResults, runLockSchema } from '../../src/workflow/run-lock.js';
import { currentProcess } from '../../src/util/process-identity.js';
import { CONTRACT_VERSION, resultKeys } from '../../src/workflow/contracts.js';
import { ExitCode } from '../../src/errors.js';
import { S3RVER_CREDENTIALS, startS3 } from '../support/s3rver.js';
import { tempDir } from './support.js';

/** The pid of a process that has run and exited (and been reaped). */
function exitedPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** A lock record as another coordinator would have written it. */
function foreignLock(runId: string, owner: { pid: number; host: string; start?: string }, renewedAt: Date, leaseS = 60): string {
  const at = renewedAt.toISOString();
  return JSON.stringify({ schemaVersion: CONTRACT_VERSION, kind: 'cai-run-lock', runId, token: 'ab'.repeat(16), owner: { ...owner, startedAt: at }, since: at, renewedAt: at, leaseS });
}

async function lockText(s: Storage, runId: string): Promise<string> {
  return Buffer.from(await s.get(resultKeys.lock(runId))).toString('utf8');
}

test('a lock names its owner; a second coordinator is refused with it; released, the run is free again', async () => {
  const t = tempDir();
  try {
    const s = new LocalStorage(t.dir);
    const lock = await acquireRunLock(s, 'r1');
    const rec = runLockSchema.parse(JSON.parse(await lockText(s, 'r1')));
    assert.equal(rec.token, lock.token);
    assert.deepEqual([rec.owner.pid, rec.owner.host], [process.pid, hostname()]);
    assert.equal(rec.owner.start, currentProcess().start);
    if (process.platform === 'linux') assert.match(rec.owner.start ?? '', /^[0-9a-f-]{36}:\d+$/);
    await assert.rejects(acquireRunLock(s, 'r1'), (e: unknown) => {
      assert.ok(e instanceof RunLockedError);
      assert.equal(e.exitCode, ExitCode.unavailable);
      assert.equal(e.message, `${join(t.dir, 'results/r1/run.lock')}: run r1 is in use by pid ${process.pid} on ${hostname()} since ${rec.since}; wait for it to finish or stop it, or use another --run-id`);
      return true;
    });
    await lock.renew();
    assert.ok(Date.parse(runLockSchema.parse(JSON.parse(await lockText(s, 'r1'))).renewedAt) >= Date.parse(rec.renewedAt));
    await lock.release();
    assert.equal(existsSync(join(t.dir, 'results/r1/run.lock')), false);
    const again = await acquireRunLock(s, 'r1');
    assert.notEqual(again.token, lock.token);
    assert.equal(again.tookOver, undefined);
    assert.deepEqual(readdirSync(join(t.dir, 'results/r1')), ['run.lock'], 'no temp file is left beside the lock');
  } finally {
    t.cleanup();
  }
});

test('a lock whose owner exited, or whose pid is now another process, is taken over; a live one elsewhere is not until its lease ends', async () => {
  const t = tempDir();
  try {
    const s = new LocalStorage(t.dir);
    const dead = exitedPid();
    await s.put(resultKeys.lock('gone'), foreignLock('gone', { pid: dead, host: hostname() }, new Date()));
    const a = await acquireRunLock(s, 'gone');
    assert.equal(a.tookOver?.reason, `pid ${dead} is no longer running`);

    // This process's pid with another start time: the pid was reused since the lock was written.
    await s.put(resultKeys.lock('reused'), foreignLock('reused', { pid: process.pid, host: hostname(), start: `${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}:1` }, new Date()));
    if (process.platform === 'linux') assert.equal((await acquireRunLock(s, 'reused')).tookOver?.reason, `pid ${process.pid} now belongs to another process`);

    // Another host: its pid cannot be checked from here, so only the lease decides.
    await s.put(resultKeys.lock('remote'), foreignLock('remote', { pid: 4242, host: 'elsewhere.example' }, new Date(), 60));
    await assert.rejects(acquireRunLock(s, 'remote'), RunLockedError);
    await s.put(resultKeys.lock('remote'), foreignLock('remote', { pid: 4242, host: 'elsewhere.example' }, new Date(Date.now() - 120_000), 60));
    const r = await acquireRunLock(s, 'remote');
    assert.match(r.tookOver?.reason ?? '', /^it was last renewed 12\d s ago, past its 60 s lease$/);
  } finally {
    t.cleanup();
  }
});

test('of coordinators taking over one stale lock at the same moment, exactly one wins', async () => {
  const t = tempDir();
  try {
    const s = new LocalStorage(t.dir);
    for (let round = 0; round < 12; round++) {
      const runId = `race-${round}`;
      await s.put(resultKeys.lock(runId), foreignLock(runId, { pid: exitedPid(), host: hostname() }, new Date()));
      const tries = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(() => acquireRunLock(new LocalStorage(t.dir), runId)));
      const won = tries.filter((x) => x.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: ${tries.map((x) => x.status).join(', ')}`);
      for (const x of tries) if (x.status === 'rejected') assert.ok(x.reason instanceof RunLockedError, String(x.reason));
      assert.equal(runLockSchema.parse(JSON.parse(await lockText(s, runId))).token, (won[0] as PromiseFulfilledResult<{ token: string }>).value.token);
    }
  } finally {
    t.cleanup();
  }
});

test('writes through a guarded storage stop once the lock holds another token, and nothing is written', async () => {
  const t = tempDir();
  try {
    const s = new LocalStorage(t.dir);
    const mine = await acquireRunLock(s, 'g');
    const guarded = guardResults(s, { runId: 'g', lock: { token: mine.token } });
    await guarded.put('results/g/a.txt', 'first');
    // Another coordinator took the run over (as it would once this one's pid is gone).
    await s.put(resultKeys.lock('g'), foreignLock('g', { pid: 4242, host: 'elsewhere.example' }, new Date()));
    await assert.rejects(guarded.put('results/g/b.txt', 'second'), (e: unknown) => {
      assert.ok(e instanceof RunLockLostError);
      assert.match(e.message, /run\.lock: run g was taken over by pid 4242 on elsewhere\.example since .*; this process writes nothing more into it$/);
      return true;
    });
    await assert.rejects(guarded.delete('results/g/a.txt'), RunLockLostError);
    assert.equal(existsSync(join(t.dir, 'results/g/b.txt')), false);
    assert.equal(existsSync(join(t.dir, 'results/g/a.txt')), true);
    await assert.rejects(mine.renew(), RunLockLostError);
    await mine.release();
    assert.ok(existsSync(join(t.dir, 'results/g/run.lock')), 'a lock that is no longer ours is left alone');
    assert.equal(guardResults(s, { runId: 'g' }), s, 'a run without a lock token writes as before');
  } finally {
    t.cleanup();
  }
});

test('on S3 (s3rver) the lock refuses a second coordinator and takes over a stale one; s3rver itself ignores If-None-Match', async () => {
  const s3 = await startS3('cai-lock');
  try {
    const s = new S3Storage({ bucket: s3.bucket, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, prefix: 'root' });
    // What the server supports: a conditional create of an existing key is written anyway (S3 answers 412).
    await s.put('probe.txt', 'one');
    assert.equal(await s.putIf('probe.txt', 'two', null), true);
    assert.equal(Buffer.from(await s.get('probe.txt')).toString(), 'two');
    const tagged = await s.getTagged('probe.txt');
    assert.match(tagged?.tag ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal(await s.getTagged('missing.txt'), undefined);

    // So the lock reads before it writes and reads back after: a live holder is refused, a stale one replaced.
    const lock = await acquireRunLock(s, 's3run');
    await assert.rejects(acquireRunLock(s, 's3run'), RunLockedError);
    await lock.release();
    assert.equal(await s.head(resultKeys.lock('s3run')), undefined);
    await s.put(resultKeys.lock('s3run'), foreignLock('s3run', { pid: exitedPid(), host: hostname() }, new Date()));
    const taken = await acquireRunLock(s, 's3run');
    assert.match(taken.tookOver?.reason ?? '', /is no longer running$/);
  } finally {
    await s3.stop();
  }
});
