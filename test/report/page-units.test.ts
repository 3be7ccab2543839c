// The pure parts behind the pages: the headline figures, the command that resumes a run, the compare
// table's deltas, and the CLI's cost line and progress counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headlineOf } from '../../src/report/headline.js';
import { rerunCommand, resultsRoot, shellWord } from '../../src/report/rerun.js';
import { compareTable } from '../../src/report/compare.js';
import { costLine } from '../../src/cli/render/cost.js';
import { countLine, fmtEta } from '../../src/cli/output.js';
import { makeRun, plannedPrediction } from './run-fixture.js';

const loaded = (f: ReturnType<typeof makeRun>) => ({ summary: f.summary as unknown as Record<string, unknown>, kind: 'summary' as const, zTrue: f.zTrue, zPred: f.zPred, ranks: f.ranks, devices: ['cpu'] });

test('the headline of a run: its figures, its prediction, and a prediction that does not fit its schema', () => {
  const f = makeRun(500, 2, { prediction: plannedPrediction(9, 0.001), wallTimeS: 10 });
  const h = headlineOf(f.summary as unknown as Record<string, unknown>, 'summary', ['cpu']);
  assert.equal(h.samples, 500);
  assert.equal(h.wallS, 10);
  assert.equal(h.samplesPerS, 50);
  assert.equal(h.prediction?.wall_s, 9);
  assert.equal(h.facets.ranks, '2');
  assert.equal(h.facets.model, 'astromae.onnx');
  const bad = headlineOf({ ...(f.summary as unknown as Record<string, unknown>), prediction: { wall_s: -1 } }, 'summary');
  assert.equal(bad.prediction, null);
  assert.match(bad.predictionProblem!, /^prediction\.wall_s: /);
});

test('the rerun command keeps the run id and every setting; the results root is --out', () => {
  assert.equal(resultsRoot('/work/out/results/r1/', 'r1'), '/work/out');
  assert.equal(resultsRoot('s3://bucket/pre/results/r1/', 'r1'), 's3://bucket/pre');
  assert.equal(resultsRoot('results/r1', 'r1'), '.');
  assert.equal(shellWord("it's here"), `'it'\\''s here'`);
  const f = makeRun(100, 4, { failed: [1], runId: 'r-7' });
  const s = { ...f.summary, configuration: { ...f.summary.configuration, data: '/data/my set/manifest.json', aggregation: { mode: 'fmi' as const, requestedChannel: 'auto' as const, hint: 'cheap' as const, timeoutS: 60 } } };
  assert.equal(
    rerunCommand(s),
    "cai run --data '/data/my set/manifest.json' --model /models/astromae.onnx --out /work/out --world-size 4 --concurrency 4 --batch-size 256 --threads 2 --memory-mb 3008 --timeout-s 900 --tolerated-failure-percent 10 --run-id r-7 --aggregation fmi --fmi-channel auto --fmi-hint cheap --fmi-timeout-s 60",
  );
  assert.match(rerunCommand({ ...s, configuration: { ...s.configuration, backend: 'aws-lambda', results: 's3://b/results/r-7/' } })!, /^cai aws run --data .* --out s3:\/\/b --world-size 4 .* --run-id r-7$/);
  assert.equal(rerunCommand({ ...s, configuration: { ...s.configuration, backend: 'elsewhere' } }), null);
});

test('compare table: labels from what differs, deltas against the first run with their sense', () => {
  const a = makeRun(600, 2, { wallTimeS: 10, runId: 'a' });
  const b = makeRun(600, 4, { wallTimeS: 5, runId: 'b' });
  const t = compareTable([
    { dir: 'a', run: loaded(a) },
    { dir: 'b', run: loaded(b) },
  ]);
  assert.deepEqual(t.runs.map((r) => r.label), ['ranks 2', 'ranks 4']);
  assert.deepEqual(t.runs[1].deltas.wallS, { abs: -5, rel: -0.5, better: true });
  assert.deepEqual(t.runs[1].deltas.samplesPerS, { abs: 60, rel: 1, better: true });
  assert.equal(t.runs[1].deltas.costUsd!.better, (t.runs[1].costUsd ?? 0) < (t.runs[0].costUsd ?? 0));
  // Runs that differ in nothing are told apart by their run ids.
  const same = compareTable([
    { dir: 'x', run: loaded(makeRun(100, 2, { runId: 'x' })) },
    { dir: 'y', run: loaded(makeRun(100, 2, { runId: 'y' })) },
  ]);
  assert.deepEqual(same.runs.map((r) => r.label), ['x', 'y']);
  assert.throws(() => compareTable([{ dir: 'a', run: loaded(a) }]), /at least two run directories, got 1/);
});

test('the cost line names its terms, largest first; the tiny ones are counted, not named', () => {
  const line = costLine({
    totalUsd: 0.0182,
    items: [
      { label: 'Lambda compute (initialize)', usd: 0.00000227 },
      { label: 'Lambda compute (ranks)', usd: 0.018 },
      { label: 'Step Functions state transitions', usd: 0.0002 },
      { label: 'Lambda requests', usd: 0.0000012 },
    ],
  });
  assert.equal(line, '0.0182 USD = Lambda compute (ranks) 0.018 + Step Functions state transitions 0.0002 + 2 smaller items 0.00000347');
  assert.equal(costLine({ totalUsd: 0, items: [] }), '0 USD');
});

test('progress counts: done of total, percent, rate and ETA from the elapsed time', () => {
  assert.equal(countLine('synthesizing galaxies', 3000, 12000, 10), 'synthesizing galaxies 3,000/12,000 (25%)  300/s  ETA 30 s');
  assert.equal(countLine('reading runs', 0, 3, 0), 'reading runs 0/3 (0%)  ETA ?');
  assert.equal(countLine('importing', 50, 50, 2, 'samples'), 'importing 50/50 (100%)  25 samples/s');
  // Counting began with 1,000 already done: the rate is what got done since.
  assert.equal(countLine('synthesizing galaxies', 3000, 12000, 10, '', 1000), 'synthesizing galaxies 3,000/12,000 (25%)  200/s  ETA 45 s');
  assert.equal(fmtEta(185), 'ETA 3m05s');
  assert.equal(fmtEta(4800), 'ETA 1h20m');
});
