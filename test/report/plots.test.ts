import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costBreakdownPlot, dzHistogramPlot, histogramPlot, linePlot, rankThroughput, rankThroughputPlot, renderSvg, residualPlot, runningStats, scatterPlot, svgToPng, timelinePlot, timelineSegments } from '../../src/report/plots.js';
import { lambdaRunCost } from '../../src/cost/lambda-cost.js';
import { pngSize, redshifts } from './run-fixture.js';

/** The path elements of a named vega mark group (`<name>_marks`). */
function marksOf(svg: string, name: string): string[] {
  const start = svg.indexOf(`${name}_marks`);
  assert.ok(start >= 0, `mark group ${name} present`);
  const end = svg.indexOf('</g>', start);
  return svg.slice(start, end).match(/<(path|line)[^>]*>/g) ?? [];
}

test('scatter draws one mark per sample and the y = x line', async () => {
  const { zTrue, zPred } = redshifts(800, 1);
  const p = scatterPlot(zTrue, zPred);
  assert.equal(p.aggregation, 'points');
  assert.equal(p.marks, 800);
  const svg = await renderSvg(p.spec);
  assert.equal(marksOf(svg, 'points').length, 800);
  assert.equal(marksOf(svg, 'identity').length, 1);
  assert.equal(marksOf(svg, 'band').length, 1, 'the |dz| <= 0.15 band');
  assert.equal(marksOf(svg, 'band_upper').length + marksOf(svg, 'band_lower').length, 2);
  assert.doesNotMatch(svg.replace(/ xmlns(:xlink)?="[^"]*"/g, ''), /https?:|<script|<image|<foreignObject/i, 'no external references or scripts');
  const png = svgToPng(svg);
  const size = pngSize(png);
  const [, w, h] = /<svg[^>]*width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
  assert.deepEqual(size, { width: w * 2, height: h * 2 });
});

test('large sample sets become a 2-D histogram whose cells add up to the samples', async () => {
  const { zTrue, zPred } = redshifts(20_000, 2);
  zPred[5] = NaN;
  for (const plot of [scatterPlot(zTrue, zPred), residualPlot(zTrue, zPred)]) {
    assert.equal(plot.aggregation, 'density');
    assert.equal(plot.samples, 19_999);
    assert.equal(plot.dropped, 1);
    assert.match(plot.caption, /1 non-finite value left out/);
    const cells = marksOf(await renderSvg(plot.spec), 'cells');
    assert.equal(cells.length, plot.marks);
    const total = cells.reduce((s, c) => s + Number(/aria-label="(\d+)"/.exec(c)![1]), 0);
    assert.equal(total, 19_999);
  }
  // The threshold is an option.
  assert.equal(scatterPlot(zTrue.subarray(0, 50), zPred.subarray(0, 50), { maxPoints: 10 }).aggregation, 'density');
});

test('histogram of predictions counts every finite sample once', async () => {
  const { zPred } = redshifts(3000, 3);
  const p = histogramPlot(zPred, 25);
  const bins = marksOf(await renderSvg(p.spec), 'bins');
  assert.equal(bins.length, p.marks);
  assert.equal(
    bins.reduce((s, b) => s + Number(/aria-label="(\d+)"/.exec(b)![1]), 0),
    3000,
  );
});

test('timeline segments lay phases end to end from each rank start', async () => {
  const t0 = 1_700_000_000_000;
  const ranks = [
    { rank: 0, startedAt: t0, endedAt: t0 + 4000, coldStartMs: 500, downloadMs: 250, inferenceMs: 3000, uploadMs: 100, samples: 10, status: 'succeeded' },
    { rank: 1, startedAt: t0 + 1000, endedAt: t0 + 2000, downloadMs: 300, samples: 0, status: 'failed' },
    // A rank that failed before reporting any time, as the workflow passes it: listed, never drawn.
    { rank: 2, startedAt: 0, endedAt: 0, samples: 5, status: 'failed' },
    { rank: 3, startedAt: t0 + 200, endedAt: t0 + 700, inferenceMs: 500, samples: 5, status: 'reused' },
  ];
  const segs = timelineSegments(ranks);
  assert.deepEqual(
    segs.map((s) => [s.rank, s.phase, s.start, s.end]),
    [
      [0, 'cold start', 0, 0.5],
      [0, 'download', 0.5, 0.75],
      [0, 'inference', 0.75, 3.75],
      [0, 'upload', 3.75, 3.85],
      [0, 'other', 3.85, 4],
      [1, 'download', 1, 1.3],
      [1, 'failed', 1.3, 2],
      [3, 'inference', 0.2, 0.7],
    ],
  );
  const p = timelinePlot(ranks);
  assert.match(p.caption, /^4 ranks, 2 failed; .*\(1 without timings not drawn\)\.$/);
  assert.equal(marksOf(await renderSvg(p.spec), 'segments').length, 8);
});

test('residual plot: the running median and NMAD of each bin are those of its samples', async () => {
  // dz = 0.01 for true z < 0.3, 0.05 above: the running median steps from one to the other.
  const n = 400;
  const zTrue = Float32Array.from({ length: n }, (_, i) => 0.05 + (0.5 * i) / n);
  const zPred = Float32Array.from(zTrue, (z) => z + (z < 0.3 ? 0.01 : 0.05) * (1 + z));
  const bins = runningStats(Float64Array.from(zTrue), Float64Array.from(zPred));
  assert.equal(bins.length, 16, '400 samples: bins of 25');
  assert.ok(bins.every((b) => b.n === 25));
  assert.ok(Math.abs(bins[0].median - 0.01) < 1e-6 && Math.abs(bins[15].median - 0.05) < 1e-6);
  assert.ok(Math.abs(bins[0].hi - bins[0].lo) < 1e-6, 'constant dz in a bin: no spread');
  const svg = await renderSvg(residualPlot(zTrue, zPred).spec);
  assert.equal(marksOf(svg, 'running_median').length, 1);
  assert.equal(marksOf(svg, 'nmad_band').length, 1);
  // Too few samples for a running statistic: none is drawn.
  assert.deepEqual(runningStats(Float64Array.from([0.1]), Float64Array.from([0.1])), []);
});

test('dz histogram counts every sample once and the outliers beyond |dz| = 0.15', async () => {
  const { zTrue, zPred } = redshifts(2000, 4);
  zPred[0] = zTrue[0] + 0.5 * (1 + zTrue[0]);
  zPred[1] = zTrue[1] - 0.2 * (1 + zTrue[1]);
  const p = dzHistogramPlot(zTrue, zPred);
  const bins = marksOf(await renderSvg(p.spec), 'bins');
  assert.equal(bins.reduce((s, b) => s + Number(/aria-label="(\d+)"/.exec(b)![1]), 0), 2000);
  assert.match(p.caption, /2 outliers beyond it/);
  assert.equal(marksOf(await renderSvg(p.spec), 'outlier_cut').length, 2);
});

test('per-rank throughput: samples over each rank\'s own time and over its model time', async () => {
  const t0 = 1_700_000_000_000;
  const ranks = [
    { rank: 0, startedAt: t0, endedAt: t0 + 4000, inferenceMs: 2000, samples: 400, status: 'succeeded' },
    { rank: 1, startedAt: t0, endedAt: t0 + 2000, samples: 100, status: 'reused' },
    { rank: 2, startedAt: 0, endedAt: 0, samples: 50, status: 'failed' },
  ];
  assert.deepEqual(rankThroughput(ranks), [
    { rank: 0, samples: 400, endToEnd: 100, model: 200, status: 'succeeded' },
    { rank: 1, samples: 100, endToEnd: 50, model: null, status: 'reused' },
  ]);
  const svg = await renderSvg(rankThroughputPlot(ranks).spec);
  assert.equal(marksOf(svg, 'throughput').length, 2);
  assert.equal(marksOf(svg, 'model_rate').length, 1);
});

test('cost breakdown: a bar per bill item, the caption names the largest', async () => {
  const cost = lambdaRunCost({ lambda: [{ label: 'ranks', count: 4, durationMs: 10_000, memoryGB: 2 }], stateMachine: { mapItems: 4 } });
  const p = costBreakdownPlot(cost, 'Cost as billed');
  assert.equal(p.marks, cost.items.length);
  assert.equal(marksOf(await renderSvg(p.spec), 'bars').length, cost.items.length);
  assert.match(p.caption, /most of it Lambda compute \(ranks\)/);
});

test('line plot: one point mark per finite point; a log axis leaves out what it cannot show', async () => {
  const p = linePlot(
    [
      { series: 'a', x: 1, y: 10 },
      { series: 'a', x: 2, y: 20 },
      { series: 'b', x: 1, y: 5, kind: 'published' },
      { series: 'b', x: 2, y: 0, kind: 'published' },
    ],
    { x: { title: 'x' }, y: { title: 'y', log: true }, caption: 'c' },
  );
  assert.equal(p.marks, 3);
  assert.equal(p.dropped, 1);
  assert.equal(marksOf(await renderSvg(p.spec), 'points').length, 3);
});
