// The report pages loaded for real in headless Chromium: every plot drawn, no console error, no request
// but the page itself, the card values read back from the page against summary.json, and a screenshot
// kept for a person to look at (its path is printed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writePredictionsCsv } from '../../src/inference/predictions.js';
import { loadRunDir } from '../../src/report/load-run.js';
import { writeRunReport, type RunReportFiles } from '../../src/report/run-report.js';
import { writeCompareReport } from '../../src/report/compare.js';
import { fmtUsd } from '../../src/cost/format.js';
import { launch, openChecked, type Browser } from './browser.js';
import { makeRun, plannedPrediction, pngSize, writeRunDir, type Fixture } from './run-fixture.js';

let dir: string;
let browser: Browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cai-report-'));
  browser = await launch('report');
});

after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function build(name: string, f: Fixture, maxPoints?: number): Promise<RunReportFiles> {
  const runDir = join(dir, name);
  await writeRunDir(runDir, f);
  return writeRunReport({ ...(await loadRunDir(runDir)), outDir: join(runDir, 'report'), maxPoints });
}

/** A card as the page shows it: its full-precision value and its text. */
async function card(page: Page, id: string): Promise<{ value: number | null; text: string; sub: string }> {
  const c = page.locator(`#card-${id}`);
  const v = await c.getAttribute('data-value');
  return { value: v === null ? null : Number(v), text: (await c.locator('.value').textContent())!, sub: (await c.locator('.sub').count()) ? (await c.locator('.sub').textContent())! : '' };
}

test('partial run: cards read back as summary.json, what failed and the rerun command, every plot drawn', async () => {
  const f = makeRun(1500, 8, { failed: [5] });
  const files = await build('labelled', f);
  const summary = JSON.parse(readFileSync(join(dir, 'labelled', 'summary.json'), 'utf8'));
  const { page, plots } = await openChecked(browser, files.html);
  try {
    assert.equal(await page.locator('#run-status').textContent(), 'partial');
    const samples = await card(page, 'samples');
    assert.equal(samples.value, summary.performance.total.samples);
    assert.equal(samples.text, '1,500');
    const wall = await card(page, 'wall');
    assert.equal(wall.value, summary.wallTimeS);
    assert.equal(wall.text, '11.0 s');
    const rate = await card(page, 'rate');
    assert.ok(Math.abs(rate.value! - summary.performance.total.samplesPerS) < 1e-9);
    assert.equal(rate.text, String(Number(summary.performance.total.samplesPerS.toPrecision(3))));
    const cost = await card(page, 'cost');
    assert.equal(cost.value, summary.cost.totalUsd);
    assert.equal(cost.text, `${fmtUsd(summary.cost.totalUsd)} USD`);
    assert.match(cost.sub, /if run on AWS Lambda \+ Step Functions/);
    const sigma = await card(page, 'sigma');
    assert.equal(sigma.value, summary.accuracy.sigmaNmad);
    assert.equal(sigma.text, summary.accuracy.sigmaNmad.toFixed(4));
    assert.equal((await card(page, 'outliers')).value, summary.accuracy.outlierRate);

    // The failure comes first: the rank, its error and partitions, and the command that resumes the run.
    const failure = page.locator('section#failure');
    assert.equal(await page.locator('main > section').first().getAttribute('id'), 'failure');
    assert.match((await failure.locator('#failure-lead').textContent())!, /^1 of 8 ranks failed; 0 of 1,500 samples have no prediction/);
    const row = failure.locator('tr[data-failed-rank="5"]');
    assert.match((await row.textContent())!, /Timeout.*rank ran past its deadline.*part-5\.safetensors/);
    assert.equal(
      await page.locator('#rerun').textContent(),
      'cai run --data /data/sdss/manifest.json --model /models/astromae.onnx --out /work/out --world-size 8 --concurrency 8 --batch-size 256 --threads 2 --memory-mb 3008 --timeout-s 900 --tolerated-failure-percent 10 --run-id fixture-run',
    );

    // Every plot of a labelled run with ranks and a bill, in page order, each with its marks.
    assert.deepEqual(plots.map((p) => p.id), ['plot-scatter', 'plot-residual', 'plot-dz', 'plot-timeline', 'plot-throughput', 'plot-cost']);
    assert.equal(await page.locator('#plot-scatter g.points_marks path').count(), 1500);
    const dzCounts = await page.locator('#plot-dz g.bins_marks path').evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-label'))));
    assert.equal(dzCounts.reduce((s, c) => s + c, 0), 1500);
    assert.equal(await page.locator('#plot-residual g.running_median_marks path').count(), 1, 'the running median is drawn');
    assert.equal(await page.locator('#plot-throughput g.throughput_marks path').count(), 7, 'one bar per rank with results');
    assert.equal(await page.locator('#plot-cost g.bars_marks path').count(), summary.cost.items.length);

    // Short tables, then the raw fields folded away.
    assert.equal(await page.locator('#configuration td[data-key="configuration.worldSize"]').textContent(), '8');
    assert.equal(await page.locator('#accounting td[data-key="report.failedRanks"]').textContent(), '1');
    assert.equal(Number(await page.locator('#cost-total').getAttribute('data-value')), summary.cost.totalUsd);
    assert.equal(await page.locator('#ranks tbody tr').count(), 8);
    assert.equal(await page.locator('#ranks tr[data-rank="5"]').getAttribute('class'), 'bad');
    assert.equal(await page.locator('details#raw').getAttribute('open'), null);
    assert.ok(await page.locator('details#raw td[data-raw="invocations.crashed"]').count());
    const ids = await page.evaluate(() => Array.from(document.querySelectorAll('[id]'), (e) => e.id));
    assert.equal(new Set(ids).size, ids.length, 'element ids are unique');

    // Printed, the plots stay on the page and the raw fields stay folded away.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('details#raw').evaluate((e) => getComputedStyle(e).display), 'none');
    assert.ok((await page.locator('#plot-scatter svg').boundingBox())!.height > 100);
    await page.emulateMedia({ media: 'screen' });

    const shot = await browser.screenshot(page, 'run-partial');
    assert.ok(pngSize(readFileSync(shot)).height > 900);
  } finally {
    await page.close();
  }
  for (const p of files.plots) assert.ok(pngSize(readFileSync(p.png)).width > 200, p.png);
});

test('planned run: predicted beside measured on the cards and in their own section', async () => {
  const f = makeRun(800, 4, { prediction: plannedPrediction(8.8, 0.0021), wallTimeS: 11 });
  const files = await build('planned', f);
  const { page } = await openChecked(browser, files.html);
  try {
    const wall = await card(page, 'wall');
    assert.equal(wall.sub, 'predicted 8.80 s; measured 1.25x that');
    assert.match((await card(page, 'cost')).sub, /predicted 0\.0021 USD on lambda$/);
    const table = page.locator('#prediction table');
    assert.equal(await table.locator('tbody tr').first().locator('td[data-col="predicted"]').getAttribute('data-value'), '8.8');
    assert.equal(await table.locator('tbody tr').first().locator('td[data-col="ratio"]').textContent(), '1.25x');
    assert.match((await page.locator('#prediction').textContent())!, /profile "fixture profile".*catalog of 2026-11-01, model cai-planner\/1/);
    assert.equal(await page.locator('#failure').count(), 0, 'a complete run has no failure section');
  } finally {
    await page.close();
  }
});

test('unlabelled run: a histogram of predictions instead of the accuracy plots', async () => {
  const files = await build('unlabelled', makeRun(600, 3, { labelled: false }));
  const { page, plots } = await openChecked(browser, files.html);
  try {
    assert.deepEqual(plots.map((p) => p.id), ['plot-histogram', 'plot-timeline', 'plot-throughput', 'plot-cost']);
    const counts = await page.locator('#plot-histogram g.bins_marks path').evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-label'))));
    assert.equal(counts.reduce((s, c) => s + c, 0), 600);
    assert.equal((await card(page, 'sigma')).value, null);
    assert.equal((await card(page, 'sigma')).sub, 'no true redshifts');
    assert.match((await page.locator('#accuracy').textContent())!, /No true redshifts/);
  } finally {
    await page.close();
  }
});

test('large run: the scatter is a 2-D histogram whose cells hold every sample', async () => {
  const files = await build('large', makeRun(6000, 4), 4000);
  const { page } = await openChecked(browser, files.html);
  try {
    assert.equal(await page.locator('#plot-scatter g.points_marks').count(), 0);
    const counts = await page.locator('#plot-scatter g.cells_marks path').evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-label'))));
    assert.equal(counts.length, files.plots.find((p) => p.name === 'scatter')!.marks);
    assert.equal(counts.reduce((s, c) => s + c, 0), 6000);
    assert.match((await page.locator('#plot-scatter figcaption').textContent())!, /6,000 samples as a 60 x 60 2-D histogram/);
  } finally {
    await page.close();
  }
});

test('a `cai infer` output gets the cards and plots that apply: no ranks, no cost', async () => {
  const runDir = join(dir, 'infer');
  mkdirSync(runDir, { recursive: true });
  const { zTrue, zPred } = makeRun(700, 1);
  await writePredictionsCsv(join(runDir, 'predictions.csv'), { objectId: BigInt64Array.from({ length: 700 }, (_, i) => BigInt(i)), zTrue, zPred });
  const metrics = { accuracy: { count: 700, sigmaNmad: 0.0311, outlierRate: 0.004 }, performance: { device: 'cpu', samples: 700, wallTimeS: 2.5, endToEndSamplesPerS: 280, inputBytes: 700 * 20500, batchSize: 256 }, config: { batchSize: 256, threads: 2 }, data: { samples: 700, partitions: 2, labelled: true } };
  writeFileSync(join(runDir, 'metrics.json'), JSON.stringify(metrics));
  const files = await writeRunReport({ ...(await loadRunDir(runDir)), outDir: join(runDir, 'report') });
  const { page, plots } = await openChecked(browser, files.html);
  try {
    assert.deepEqual(plots.map((p) => p.id), ['plot-scatter', 'plot-residual', 'plot-dz']);
    assert.equal((await card(page, 'samples')).value, 700);
    assert.equal((await card(page, 'wall')).value, 2.5);
    assert.equal((await card(page, 'rate')).value, 280);
    assert.equal((await card(page, 'sigma')).value, 0.0311);
    assert.equal(await page.locator('#card-cost').count(), 0);
    assert.equal(await page.locator('#ranks').count(), 0);
    assert.equal(await page.locator('#run-status').count(), 0);
  } finally {
    await page.close();
  }
});

test('compare page: headline figures and deltas as compare.json says, overlaid plots drawn', async () => {
  const runs = [];
  for (const [w, wall] of [[2, 20], [4, 11], [8, 7]] as const) {
    const runDir = join(dir, 'compare', `w${w}`);
    await writeRunDir(runDir, makeRun(1200, w, { wallTimeS: wall, seed: w, runId: `w${w}` }));
    runs.push({ dir: runDir, run: await loadRunDir(runDir) });
  }
  const files = await writeCompareReport({ runs, outDir: join(dir, 'compare', 'out') });
  const table = JSON.parse(readFileSync(files.json, 'utf8'));
  assert.deepEqual(table.runs.map((r: { label: string }) => r.label), ['ranks 2', 'ranks 4', 'ranks 8']);
  const { page, plots } = await openChecked(browser, files.html);
  try {
    assert.deepEqual(plots.map((p) => p.id), ['plot-throughput', 'plot-wall', 'plot-cost', 'plot-accuracy']);
    for (const [i, r] of table.runs.entries()) {
      const row = page.locator(`#compare-table tr[data-run="${i}"]`);
      assert.equal(Number(await row.locator('td[data-col="wallS"]').getAttribute('data-value')), r.wallS);
      assert.equal(Number(await row.locator('td[data-col="samplesPerS"]').getAttribute('data-value')), r.samplesPerS);
      assert.equal(Number(await row.locator('td[data-col="costUsd"]').getAttribute('data-value')), r.costUsd);
      assert.equal(Number(await row.locator('td[data-col="sigmaNmad"]').getAttribute('data-value')), r.sigmaNmad);
    }
    // 8 ranks against 2: 7 s against 20 s.
    assert.equal(await page.locator('#compare-table tr[data-run="2"] small[data-delta="wallS"]').textContent(), '-65% (-13.0 s)');
    assert.equal(await page.locator('#compare-table tr[data-run="2"] td[data-col="wallS"]').getAttribute('class'), 'num delta-down');
    assert.equal(await page.locator('#plot-wall g.bars_marks path').count(), 3);
    assert.equal(await page.locator('#settings tbody tr').count(), 3);
    await browser.screenshot(page, 'compare');
  } finally {
    await page.close();
  }
  assert.ok(statSync(files.plots[0].png).size > 0);
});
