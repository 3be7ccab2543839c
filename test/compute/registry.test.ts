// The compute registry: a backend by name, its limits, and an engine opened from it that runs real
// invocations on worker processes and reports each one's start and end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMPUTE_BACKEND_NAMES, DEFAULT_COMPUTE_BACKEND, computeBackend, invocationBackend, type InvocationEnd, type InvocationStart } from '../../src/compute/index.js';
import { MAX_FUNCTION_TIMEOUT_S, MAX_MEMORY_MB, MIN_MEMORY_MB } from '../../src/compute/limits.js';
import { UsageError } from '../../src/errors.js';

const handler = { module: pathToFileURL(join(import.meta.dirname, 'fixtures', 'handlers.ts')).href, name: 'handle' };

test('backends by name, with the limits they honour; unknown names and the wrong kind are usage errors', () => {
  assert.deepEqual(COMPUTE_BACKEND_NAMES, ['local-processes', 'aws-lambda']);
  assert.equal(DEFAULT_COMPUTE_BACKEND, 'local-processes');
  const local = computeBackend('local-processes');
  const lambda = computeBackend('aws-lambda');
  assert.equal(local.runs, 'invocations');
  assert.equal(lambda.runs, 'executions');
  for (const b of [local, lambda]) {
    assert.equal(b.limits.memoryMb.min, MIN_MEMORY_MB);
    assert.equal(b.limits.memoryMb.max, MAX_MEMORY_MB);
  }
  assert.equal(lambda.limits.timeoutS.max, MAX_FUNCTION_TIMEOUT_S);
  assert.equal(local.limits.timeoutS.default, MAX_FUNCTION_TIMEOUT_S);
  assert.equal(lambda.threadsPerInstance({ concurrency: 100, memoryMb: 10_240 }), 6);
  assert.deepEqual(lambda.maxThreadsPerInstance({ memoryMb: 10_240 }), { max: 12, why: 'twice the 6 vCPUs of a 10240 MB function' });
  const cores = availableParallelism();
  assert.deepEqual(local.maxThreadsPerInstance({ memoryMb: 3008 }), { max: 2 * cores, why: `twice the ${cores} core${cores === 1 ? '' : 's'} of this machine` });
  assert.throws(() => lambda.checkFigures({ concurrency: 1, memoryMb: 3008, timeoutS: 901 }), /timeout must be an integer from 1 to 900 seconds, got 901/);
  assert.throws(() => local.checkFigures({ concurrency: 1, memoryMb: 64, timeoutS: 60 }), /memory must be an integer from 128 to 10240 MB, got 64/);
  assert.throws(() => computeBackend('ec2'), (e: unknown) => e instanceof UsageError && /unknown compute backend "ec2" \(known: local-processes, aws-lambda\)/.test(e.message));
  assert.throws(() => invocationBackend('aws-lambda'), (e: unknown) => e instanceof UsageError && /runs the whole state machine/.test(e.message));
});

test('an engine from the registry runs invocations and reports their starts and ends', async () => {
  const engine = await computeBackend('local-processes').open({ concurrency: 1, memoryMb: 512, timeoutS: 30, handler });
  const starts: InvocationStart[] = [];
  const ends: InvocationEnd[] = [];
  engine.onStart((s) => starts.push(s));
  engine.onEnd((e) => ends.push(e));
  try {
    assert.equal(engine.kind, 'invocations');
    assert.equal(engine.backend, 'local-processes');
    assert.deepEqual(engine.figures, { concurrency: 1, memoryMb: 512, timeoutS: 30 });
    const a = await engine.invoke<{ value: number }>({ action: 'echo', value: 4 }, { task: 'rank', label: 'rank 0' });
    await assert.rejects(engine.invoke({ action: 'fail', errorName: 'DataError' }, { task: 'report', label: 'report' }), (e: unknown) => e instanceof Error && e.name === 'DataError');
    assert.equal(a.value, 4);
    assert.deepEqual(starts.map((s) => [s.label, s.task, s.cold]), [['rank 0', 'rank', true], ['report', 'report', false]]);
    assert.deepEqual(ends.map((e) => [e.label, e.outcome, e.errorType]), [['rank 0', 'ok', undefined], ['report', 'error', 'DataError']]);
    assert.ok(ends.every((e) => e.durationMs > 0 && e.instanceId === ends[0]!.instanceId && (e.peakRssMb ?? 0) > 10));
  } finally {
    await engine.close();
  }
});
