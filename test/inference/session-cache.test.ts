// The optimized-model cache with real onnxruntime sessions over the AstroMAE model: predictions through
// every kind of entry equal a fresh session's bit for bit, a damaged entry is found and rebuilt, a cache
// that cannot be written still opens the model, "off" disables it, and every file stays in its directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { BatchRunner } from '../../src/inference/batches.js';
import { fillSessionCache, openSession } from '../../src/inference/session.js';
import { entryKey, entryPath, sessionCacheDir, type CacheOutcome } from '../../src/inference/session-cache.js';
import { makePartition, tempDir } from './support/datasets.js';

const work = tempDir('cai-ort-cache-');
const model = join(work, 'astromae.onnx');
writeFileSync(model, buildAstroMAEOnnx({ seed: 3 }));
const modelSha = createHash('sha256').update(readFileSync(model)).digest('hex');
const input = makePartition(6, 11);

/** Open the model (one thread) through `cacheDir`, predict the fixed input, close; the outcome and predictions. */
async function predict(cacheDir: string | null): Promise<{ cache: CacheOutcome; zPred: Float32Array }> {
  const opened = await openSession(model, { threads: 1, cacheDir });
  try {
    const runner = new BatchRunner(opened, 4, false);
    const r = await runner.run(input.image.slice(), input.magnitude.slice(), input.count);
    return { cache: opened.timings.cache, zPred: r.zPred };
  } finally {
    await opened.session.release();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const fresh = await predict(null);

test('predictions through the cache equal a fresh session exactly (written, this CPU\'s entry), and the portable entry within float32 rounding', async () => {
  const dir = join(tempDir('cai-ort-cache-'), 'ort');
  assert.equal(fresh.cache, 'off');
  const first = await predict(dir);
  assert.equal(first.cache, 'written');
  assert.deepEqual(first.zPred, fresh.zPred);
  const hit = await predict(dir);
  assert.equal(hit.cache, 'hit');
  assert.deepEqual(hit.zPred, fresh.zPred);

  // What an image build bakes in: both entries; without this CPU's, the portable one serves.
  assert.equal(await fillSessionCache(model, dir), 'written');
  const exact = entryKey('exact', modelSha, 'cpu');
  for (const ext of ['ort', 'json'] as const) truncateSync(entryPath(dir, exact, ext), 0);
  const portable = await predict(dir);
  assert.equal(portable.cache, 'portable');
  // The portable graph is finished for this CPU at load, fusing in another order: equal up to float32
  // rounding, not bit for bit (this CPU's own entry is the exact one).
  assert.equal(portable.zPred.length, fresh.zPred.length);
  for (let i = 0; i < fresh.zPred.length; i++) assert.ok(Math.abs(portable.zPred[i]! - fresh.zPred[i]!) <= 1e-6 * Math.max(1, Math.abs(fresh.zPred[i]!)), `sample ${i}: ${portable.zPred[i]} vs ${fresh.zPred[i]}`);
});

test('a truncated or corrupted entry is detected, removed and rebuilt, and predictions stay exact', async () => {
  const dir = join(tempDir('cai-ort-cache-'), 'ort');
  assert.equal((await predict(dir)).cache, 'written');
  const ort = entryPath(dir, entryKey('exact', modelSha, 'cpu'), 'ort');
  const good = readFileSync(ort);

  // Truncated: shorter than its side file says.
  writeFileSync(ort, good.subarray(0, good.length >> 1));
  const afterTruncation = await predict(dir);
  assert.equal(afterTruncation.cache, 'written');
  assert.deepEqual(afterTruncation.zPred, fresh.zPred);
  assert.equal(statSync(ort).size, good.length);

  // Corrupted in place: the same size, one weight byte changed (no format check would see it; the sha256 does).
  const bad = Buffer.from(good);
  bad[bad.length - 4096] = bad[bad.length - 4096]! ^ 0xff;
  writeFileSync(ort, bad);
  const afterCorruption = await predict(dir);
  assert.equal(afterCorruption.cache, 'written');
  assert.deepEqual(afterCorruption.zPred, fresh.zPred);
  assert.equal((await predict(dir)).cache, 'hit');

  // A side file that is not JSON: the entry is rebuilt rather than trusted.
  writeFileSync(entryPath(dir, entryKey('exact', modelSha, 'cpu'), 'json'), '{ not json');
  assert.equal((await predict(dir)).cache, 'written');
  assert.equal((await predict(dir)).cache, 'hit');
});

test('a cache that cannot be written still opens the model (unstored), and CAI_CACHE_DIR=off turns the cache off', async () => {
  const root = tempDir('cai-ort-cache-');
  // A directory that cannot be made: its parent is a file (a read-only mount behaves the same way).
  writeFileSync(join(root, 'not-a-dir'), 'x');
  const unwritable = await predict(join(root, 'not-a-dir', 'ort'));
  assert.equal(unwritable.cache, 'unstored');
  assert.deepEqual(unwritable.zPred, fresh.zPred);

  assert.equal(sessionCacheDir({ CAI_CACHE_DIR: 'off' }), undefined);
  assert.equal(sessionCacheDir({ CAI_CACHE_DIR: root }), join(root, 'ort'));
  const saved = process.env.CAI_CACHE_DIR;
  process.env.CAI_CACHE_DIR = 'off';
  try {
    const off = await predict(sessionCacheDir() ?? null);
    assert.equal(off.cache, 'off');
    const opened = await openSession(model, { threads: 1 });
    assert.equal(opened.timings.cache, 'off');
    await opened.session.release();
  } finally {
    if (saved === undefined) delete process.env.CAI_CACHE_DIR;
    else process.env.CAI_CACHE_DIR = saved;
  }
});

test('cache files stay inside the cache directory whatever the model is called, and keys are checked', async () => {
  const root = tempDir('cai-ort-cache-');
  const dir = join(root, 'cache', 'ort');
  const oddDir = join(root, 'models', '..', 'models', 'a b');
  mkdirSync(oddDir, { recursive: true });
  const odd = join(oddDir, '..%2f..%2fescape.onnx');
  writeFileSync(odd, readFileSync(model));
  const opened = await openSession(odd, { threads: 1, cacheDir: dir });
  // The same content has the same key: the entry is shared with the model's other names.
  assert.equal(opened.timings.cache, 'written');
  await opened.session.release();
  const files = filesUnder(root).filter((f) => !f.startsWith(join(root, 'models')));
  assert.ok(files.length > 0);
  for (const f of files) {
    assert.ok(!relative(dir, f).startsWith('..'), `${f} is outside ${dir}`);
    assert.match(relative(dir, f), /^([0-9a-f]{40}\.(ort|json)|files\/[0-9a-f]{32}\.json)$/);
  }
  assert.throws(() => entryPath(dir, '../../etc/passwd', 'ort'), /not a cache key/);
});

test('a session over a cached entry keeps its bytes alive: only the session is kept, memory is collected, and it still runs', async () => {
  const dir = join(tempDir('cai-ort-cache-'), 'ort');
  await fillSessionCache(model, dir);
  // Keep the session alone (as a caller that destructures { session } does), then collect everything else.
  const kept = await (async () => {
    const { session, io, device, candidate, modelName, timings } = await openSession(model, { threads: 1, cacheDir: dir });
    return { session, io, device, candidate, modelName, timings };
  })();
  assert.equal(kept.timings.cache, 'hit');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Garbage over the freed range, were the bytes collected.
  const litter = Array.from({ length: 8 }, () => new Uint8Array(16 << 20).fill(0xff));
  try {
    const runner = new BatchRunner(kept, 4, false);
    const r = await runner.run(input.image.slice(), input.magnitude.slice(), input.count);
    assert.deepEqual(r.zPred, fresh.zPred);
  } finally {
    litter.length = 0;
    await kept.session.release();
  }
});
