import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine } from '../../src/cli/render/run.js';

test('the live line shows ranks, samples, rate and ETA', () => {
  const base = { ranks: 4, running: 2, done: 1, failed: 0, reused: 0, retries: 0, samples: 12_000, samplesDone: 3_200, samplesPerS: 250, etaS: 35.2, elapsedS: 12 };
  assert.equal(progressLine({ ...base, phase: 'initialize' }), 'initialize: planning ranks...');
  assert.equal(progressLine({ ...base, phase: 'ranks' }), 'ranks 2 running, 1/4 done  |  samples 3,200/12,000  |  250 samples/s  |  ETA 35.2 s');
  assert.equal(
    progressLine({ ...base, phase: 'ranks', failed: 1, retries: 2, reused: 1, samplesPerS: null, etaS: null }),
    'ranks 2 running, 2/4 done, 1 failed, 2 retried  |  samples 3,200/12,000  |  - samples/s  |  ETA ?',
  );
  assert.match(progressLine({ ...base, phase: 'summarize' }), /summarize: merging predictions\.\.\.$/);
});
