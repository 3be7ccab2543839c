import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { LocalProcessPool, InvocationError } from '../../src/compute/local-processes/engine.js';
import { defaultThreadsPerInstance } from '../../src/compute/local-processes/config.js';
import { scaled } from '../support/time-scale.js';

const handler = { module: pathToFileURL(join(import.meta.dirname, 'fixtures', 'handlers.ts')).href, name: 'handle' };

function pool(over: Partial<ConstructorParameters<typeof LocalProcessPool>[0]> = {}): LocalProcessPool {
  return new LocalProcessPool({ concurrency: 2, memoryMb: 512, timeoutS: 30, handler, ...over });
}

test('an instance starts cold, is reused warm, and is named cai-worker in ps', async () => {
  const p = pool({ concurrency: 1 });
  try {
    const progress: unknown[] = [];
    const a = await p.invoke<any>({ action: 'echo', value: 1 }, { onProgress: (d) => progress.push(d) });
    const b = await p.invoke<any>({ action: 'echo', value: 2 });
    assert.equal(a.value, 1);
    assert.equal(b.value, 2);
    assert.equal(a.pid, b.pid, 'the second invocation reuses the warm instance');
    assert.equal(a.ctx.coldStart, true);
    assert.ok(a.ctx.initMs > 0);
    assert.equal(b.ctx.coldStart, false);
    assert.equal(b.ctx.initMs, 0);
    assert.equal(b.ctx.invocation, 2);
    assert.equal(a.ctx.memoryLimitMb, 512);
    assert.deepEqual(progress, [{ step: 1 }]);
    const ps = execFileSync('ps', ['-o', 'args=', '-p', String(a.pid)], { encoding: 'utf8' }).trim();
    assert.match(ps, /^cai-worker/);
    const s = p.stats();
    assert.equal(s.invocations, 2);
    assert.equal(s.coldStarts, 1);
    assert.equal(s.instancesStarted, 1);
  } finally {
    await p.close();
  }
  assert.deepEqual(p.pids(), []);
});

test('never more than `concurrency` invocations run at once, and they overlap', async () => {
  const p = pool({ concurrency: 2 });
  try {
    const runs = await Promise.all([0, 1, 2, 3, 4].map(() => p.invoke<any>({ action: 'sleep', ms: 400 })));
    // At any instant, count how many runs were in progress.
    const edges = runs.flatMap((r) => [
      [r.startedAt, 1],
      [r.endedAt, -1],
    ]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let now = 0;
    let max = 0;
    for (const [, d] of edges) max = Math.max(max, (now += d));
    assert.equal(max, 2);
    assert.equal(p.stats().peakRunning, 2);
    assert.equal(new Set(runs.map((r) => r.pid)).size, 2, 'two instances served five invocations');
  } finally {
    await p.close();
  }
});

test('handler errors keep their name; the instance survives', async () => {
  const p = pool({ concurrency: 1 });
  try {
    await assert.rejects(p.invoke({ action: 'fail', errorName: 'DataError' }), (e: unknown) => e instanceof InvocationError && e.name === 'DataError' && /failed on purpose/.test(e.message));
    const r = await p.invoke<any>({ action: 'echo' });
    assert.equal(r.ctx.invocation, 2);
    assert.equal(p.stats().errors, 1);
  } finally {
    await p.close();
  }
});

test('a killed instance fails its invocation with Runtime.ExitError and the next one starts cold', async () => {
  const p = pool({ concurrency: 1 });
  try {
    const first = await p.invoke<any>({ action: 'echo' });
    p.onStart((s) => {
      if (s.invocationId === 2) setTimeout(() => process.kill(s.pid, 'SIGKILL'), 100);
    });
    await assert.rejects(p.invoke({ action: 'hang' }, { label: 'rank 7' }), (e: unknown) => e instanceof Error && e.name === 'Runtime.ExitError' && /rank 7: .*signal SIGKILL/.test(e.message));
    const after = await p.invoke<any>({ action: 'echo' });
    assert.notEqual(after.pid, first.pid);
    assert.equal(after.ctx.coldStart, true);
    assert.equal(p.stats().crashes, 1);
    await assert.rejects(p.invoke({ action: 'exit' }), /exit code 9/);
  } finally {
    await p.close();
  }
});

test('an invocation past its timeout is stopped with States.Timeout', async () => {
  const p = pool({ concurrency: 1, timeoutS: 1 });
  try {
    const t0 = Date.now();
    await assert.rejects(p.invoke({ action: 'hang' }), (e: unknown) => e instanceof Error && e.name === 'States.Timeout' && /timed out after 1 s/.test(e.message));
    assert.ok(Date.now() - t0 < scaled(10_000));
    assert.equal(p.stats().timeouts, 1);
    assert.equal(p.pids().length, 0, 'the timed-out instance is gone');
  } finally {
    await p.close();
  }
});

test('an instance growing past its memory limit is stopped with Runtime.OutOfMemory', async () => {
  const p = pool({ concurrency: 1, memoryMb: 160 });
  try {
    await assert.rejects(p.invoke({ action: 'grow', mb: 400 }), (e: unknown) => e instanceof Error && e.name === 'Runtime.OutOfMemory' && /160 MB/.test(e.message));
    assert.equal(p.stats().memoryKills, 1);
    const r = await p.invoke<any>({ action: 'grow', mb: 1 });
    assert.equal(r.grew, 1);
    const rec = p.records.at(-1)!;
    assert.ok(rec.peakRssMb! > 20 && rec.peakRssMb! < 160, `peak ${rec.peakRssMb} MB`);
  } finally {
    await p.close();
  }
});

test('default threads per instance fit the cores', () => {
  assert.equal(defaultThreadsPerInstance(1, 8), 8);
  assert.equal(defaultThreadsPerInstance(2, 8), 4);
  assert.equal(defaultThreadsPerInstance(3, 8), 2);
  assert.equal(defaultThreadsPerInstance(16, 2), 1);
});

test('an instance that cannot start fails the invocation with its reason', async () => {
  const p = pool({ concurrency: 1, handler: { ...handler, name: 'missing' } });
  const ends: string[] = [];
  p.onEnd((e) => ends.push(`${e.outcome}:${e.errorType}`));
  try {
    await assert.rejects(p.invoke({ action: 'echo' }), (e: unknown) => e instanceof Error && e.name === 'Runtime.ExitError' && /exit code 2\): cai-worker: .*handlers\.ts has no function "missing"/.test(e.message));
    assert.deepEqual(ends, ['crash:Runtime.ExitError']);
    assert.equal(p.stats().crashes, 1);
  } finally {
    await p.close();
  }
});

/** True while `pid` runs (a zombie has exited). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
  } catch {
    return false;
  }
}

test('instances, busy or idle, exit as soon as the process that owns the pool is killed', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const owner = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'pool-owner.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      owner.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      owner.once('exit', (code) => reject(new Error(`the pool's process exited early (${code})`)));
    });
    const { busy, idle } = JSON.parse(line) as { busy: number; idle: number };
    assert.notEqual(busy, idle);
    assert.ok(running(busy) && running(idle));
    const t0 = Date.now();
    owner.kill('SIGKILL');
    while (running(busy) || running(idle)) {
      assert.ok(Date.now() - t0 < scaled(10_000), `instances ${[busy, idle].filter(running).join(', ')} outlived their pool's process by 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    owner.kill('SIGKILL');
  }
});
