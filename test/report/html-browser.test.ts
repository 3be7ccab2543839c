// The report page loaded for real in headless Chromium: values, plot marks, no requests, a screenshot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeRunReport, type RunReportFiles } from '../../src/report/run-report.js';
import { fmtValue } from '../../src/report/html.js';
import { makeRun, pngSize, type Fixture } from './run-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;
let ctx: BrowserContext;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/provision.mjs`);
  dir = mkdtempSync(join(tmpdir(), 'cai-report-'));
  ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await ctx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openReport(files: RunReportFiles): Promise<{ page: Page; requests: string[]; url: string }> {
  const page = await ctx.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(files.html).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, requests, url };
}

async function build(name: string, f: Fixture, maxPoints?: number): Promise<RunReportFiles> {
  return writeRunReport({ summary: f.summary, zTrue: f.zTrue, zPred: f.zPred, ranks: f.ranks, outDir: join(dir, name), maxPoints });
}

test('labelled run: tables, one dot per sample, no requests, screenshot', async () => {
  const f = makeRun(1500, 8, { failed: [5] });
  const files = await build('labelled', f);
  const { page, requests, url } = await openReport(files);
  try {
    assert.deepEqual(requests, [url], 'the page loads nothing but itself');
    assert.equal(await page.evaluate(() => document.scripts.length), 0);

    const acc = f.summary.accuracy!;
    const sigma = page.locator('td[data-key="accuracy.sigmaNmad"]');
    assert.equal(await sigma.textContent(), fmtValue(acc.sigmaNmad));
    assert.ok(Math.abs(Number(await sigma.getAttribute('data-value')) - acc.sigmaNmad!) < 1e-12);
    assert.equal(await page.locator('tr', { has: sigma }).locator('th').textContent(), 'σ_NMAD');
    assert.equal(await page.locator('td[data-key="accuracy.count"]').textContent(), '1,500');
    assert.equal(await page.locator('td[data-key="performance.total.samples"]').textContent(), '1,500');
    assert.equal(await page.locator('#run-status').textContent(), 'partial');
    assert.equal(await page.locator('td[data-key="report.failedRanks"]').textContent(), '1');
    const crashed = page.locator('td[data-key="invocations.crashed"]');
    assert.equal(await page.locator('tr', { has: crashed }).locator('th').textContent(), 'Invocations: Crashed');

    const cost = f.summary.cost as { totalUsd: number; items: { id: string; arithmetic: string }[] };
    assert.equal(Number(await page.locator('#cost-total').getAttribute('data-value')), cost.totalUsd);
    const computeRow = page.locator('#cost tr[data-item="lambda.duration.ranks"] td.arith');
    assert.equal(await computeRow.textContent(), cost.items.find((i) => i.id === 'lambda.duration.ranks')!.arithmetic);
    assert.match((await computeRow.textContent())!, /^7 req, [\d.]+ s billed in all, x 2\.9375 GB x 0\.0000166667 USD\/GB-s = /);

    // 7 ranks with timings and the failed one the summary lists.
    assert.equal(await page.locator('#ranks tbody tr').count(), 8);
    const bad = page.locator('#ranks tr[data-rank="5"]');
    assert.equal(await bad.getAttribute('class'), 'bad');
    assert.match((await bad.textContent())!, /failed: Timeout/);

    assert.equal(await page.locator('#plot-scatter g.points_marks path').count(), 1500);
    assert.equal(await page.locator('#plot-residual g.points_marks path').count(), 1500);
    assert.equal(await page.locator('#plot-histogram').count(), 0);
    assert.equal(await page.locator('#plot-timeline g.segments_marks path').count(), files.plots.find((p) => p.name === 'timeline')!.marks);
    // Each inlined SVG renders at its size.
    const box = await page.locator('#plot-scatter svg').boundingBox();
    assert.ok(box && box.width > 300 && box.height > 300, JSON.stringify(box));

    const shot = join(dir, 'labelled.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 0);
    const size = pngSize(readFileSync(shot));
    assert.ok(size.width > 0 && size.height > 500);
  } finally {
    await page.close();
  }
  for (const png of [files.scatterPng!, files.residualPng!, files.timelinePng!]) {
    const { width, height } = pngSize(readFileSync(png));
    assert.ok(width > 200 && height > 100, `${png}: ${width}x${height}`);
  }
  assert.equal(files.histogramSvg, undefined);
});

test('unlabelled run: a histogram of predictions instead of the scatter', async () => {
  const f = makeRun(600, 3, { labelled: false });
  const files = await build('unlabelled', f);
  const { page, requests, url } = await openReport(files);
  try {
    assert.deepEqual(requests, [url]);
    assert.equal(await page.locator('#plot-scatter').count(), 0);
    assert.equal(await page.locator('#plot-residual').count(), 0);
    const counts = await page.locator('#plot-histogram g.bins_marks path').evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-label'))));
    assert.equal(counts.reduce((s, c) => s + c, 0), 600);
    assert.match((await page.locator('#accuracy').textContent())!, /No true redshifts/);
  } finally {
    await page.close();
  }
  assert.equal(files.scatterSvg, undefined);
  assert.ok(pngSize(readFileSync(files.histogramPng!)).width > 200);
});

test('large run: the scatter is a 2-D histogram whose cells hold every sample', async () => {
  const f = makeRun(6000, 4);
  const files = await build('large', f, 4000);
  const { page, requests, url } = await openReport(files);
  try {
    assert.deepEqual(requests, [url]);
    assert.equal(await page.locator('#plot-scatter g.points_marks').count(), 0);
    const counts = await page.locator('#plot-scatter g.cells_marks path').evaluateAll((els) => els.map((e) => Number(e.getAttribute('aria-label'))));
    assert.equal(counts.length, files.plots.find((p) => p.name === 'scatter')!.marks);
    assert.equal(counts.reduce((s, c) => s + c, 0), 6000);
    assert.match((await page.locator('#plot-scatter figcaption').textContent())!, /6,000 samples as a 60 x 60 2-D histogram/);
    // Two plots with colour legends: their gradient ids must not collide on the page.
    const ids = await page.evaluate(() => Array.from(document.querySelectorAll('[id]'), (e) => (e as Element).id));
    assert.equal(new Set(ids).size, ids.length, 'element ids are unique');
  } finally {
    await page.close();
  }
});
