import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramPlot, renderSvg, residualPlot, scatterPlot, svgToPng, timelinePlot, timelineSegments } from '../../src/report/plots.js';
import { pngSize, redshifts } from './run-fixture.js';

/** The path elements of a named vega mark group (`<name>_marks`). */
function marksOf(svg: string, name: string): string[] {
  const start = svg.indexOf(`${name}_marks`);
  assert.ok(start >= 0, `mark group ${name} present`);
  const end = svg.indexOf('</g>', start);
  return svg.slice(start, end).match(/<path[^>]*>/g) ?? [];
}

test('scatter draws one mark per sample and the y = x line', async () => {
  const { zTrue, zPred } = redshifts(800, 1);
  const p = scatterPlot(zTrue, zPred);
  assert.equal(p.aggregation, 'points');
  assert.equal(p.marks, 800);
  const svg = await renderSvg(p.spec);
  assert.equal(marksOf(svg, 'points').length, 800);
  assert.equal(marksOf(svg, 'identity').length, 1);
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
