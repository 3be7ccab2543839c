import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caiFields, performanceMetrics } from '../../src/inference/metrics.js';

test('performance metrics follow the CAI field meanings', () => {
  const p = performanceMetrics({ samples: 1000, batches: 4, batchSize: 256, device: 'cpu', inferenceMs: 2000, wallMs: 2500, ioMs: 300, peakMemoryBytes: 50e6 });
  assert.equal(p.inputBytes, 20_500_000);
  assert.equal(p.totalTimeS, 2);
  assert.equal(p.timePerBatchS, 2 / (1000 / 256)); // total time / (samples / batch size)
  assert.equal(p.throughputBps, 20_500_000 * 8 / 2);
  assert.equal(p.samplesPerS, 500);
  assert.equal(p.endToEndSamplesPerS, 400);
  assert.equal(p.ioTimeS, 0.3);
  assert.equal(p.peakMemoryMB, 50);
  assert.equal(p.numBatches, 4);
  const c = caiFields(p);
  assert.equal(c.throughput_bps, 82_000_000);
  assert.equal(c['execution_time (seconds/batch)'], 0.512);
  assert.equal(c.sample_persec, 500);
});

test('performance without samples or time has no rates; peak memory defaults to this process', () => {
  const p = performanceMetrics({ samples: 0, batches: 0, batchSize: 256, device: 'cpu', inferenceMs: 0, wallMs: 0 });
  assert.equal(p.samplesPerS, null);
  assert.equal(p.throughputBps, null);
  assert.equal(p.timePerBatchS, null);
  assert.equal(p.ioTimeS, null);
  assert.ok(p.peakMemoryMB > 10, `peak RSS of a node process is tens of MB, got ${p.peakMemoryMB}`);
});
