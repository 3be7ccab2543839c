// The study at a tiny size, for real: every experiment runs on this machine (inference, `cai run`, the
// no-data fan-out, FMI over TCP), and its files are checked: study.json against its schema, a CSV and a
// plot per experiment, the headline table; then the page opens in headless Chromium with every plot drawn.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPERIMENT_IDS, parseStudy, runStudy, type StudyResults, type StudySizes } from '../../src/bench/study/index.js';
import { EXPERIMENTS } from '../../src/bench/study/experiments/index.js';
import { launch, openChecked, type Browser } from '../report/browser.js';
import { pngSize } from '../report/run-fixture.js';
import { seededModel } from '../workflow/support.js';

const TINY: StudySizes = {
  batchSizes: [32, 64],
  batchSamples: 96,
  repeats: 1,
  dataSizesMB: [0.3],
  worldSizes: [1, 2],
  worldDataMB: 0.3,
  worldPartitions: 2,
  partitionSizesMB: [0.2],
  noDataRanks: [2],
  fmiWorldSizes: [3],
  fmiChannels: ['tcp'],
  fmiRuns: 2,
};

let out: string;
let results: StudyResults;
let browser: Browser;

before(async () => {
  out = mkdtempSync(join(tmpdir(), 'cai-study-'));
  ({ results } = await runStudy({ out, sizes: TINY, model: seededModel() }));
  browser = await launch('study');
});

after(async () => {
  await browser?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

test('every experiment ran and wrote its table, plot and CSV; study.json reads back', () => {
  assert.deepEqual(EXPERIMENTS.map((e) => e.id), [...EXPERIMENT_IDS], 'the registry runs the ids in order');
  assert.deepEqual(results.failures, []);
  assert.deepEqual(results.experiments.map((e) => e.id), [...EXPERIMENT_IDS]);
  const stored = parseStudy(readFileSync(join(out, 'study.json'), 'utf8'), 'study.json');
  assert.deepEqual(stored, results);
  assert.equal(stored.mode, 'custom');
  for (const e of results.experiments) {
    const csv = readFileSync(join(out, `${e.id}.csv`), 'utf8').trim().split('\n');
    assert.equal(csv[0], e.columns.map((c) => c.key).join(','), `${e.id}.csv header`);
    assert.equal(csv.length - 1, e.rows.length, `${e.id}.csv rows`);
    assert.ok(pngSize(readFileSync(join(out, `${e.id}.png`))).width > 300, `${e.id}.png`);
    assert.ok(existsSync(join(out, `${e.id}.svg`)));
    assert.ok(e.points.some((p) => p.kind === 'measured'), `${e.id} measures something here`);
    assert.ok(e.points.some((p) => p.kind !== 'measured'), `${e.id} has a modelled or published figure beside it`);
    assert.ok(e.headline.length >= 1, `${e.id} has a headline`);
  }
  const md = readFileSync(join(out, 'headline.md'), 'utf8').trim().split('\n');
  assert.equal(md.length, 2 + results.experiments.reduce((s, e) => s + e.headline.length, 0));
});

test('the figures are what was measured: one row per size asked for, ratios against the published figures', () => {
  const byId = new Map(results.experiments.map((e) => [e.id, e]));
  const batch = byId.get('batch-size')!;
  assert.deepEqual(batch.rows.map((r) => r.batchSize), [32, 64]);
  for (const r of batch.rows) {
    assert.ok((r.here as number) > 0);
    // The study published every machine at every batch size from 32 to 512.
    assert.ok((r.hpcCpu as number) > 0 && (r.a100 as number) > 0 && (r.lambda as number) > 0);
    assert.ok(Math.abs((r.vs_hpcCpu as number) - (r.here as number) / (r.hpcCpu as number)) < 1e-3 * (r.vs_hpcCpu as number));
  }
  const data = byId.get('data-size')!;
  assert.equal(data.rows.filter((r) => r.hereS !== null).length, 1);
  const full = data.rows.find((r) => r.dataGB === 12.6)!;
  assert.equal(full.samples, 660_461);
  assert.equal(full.hpcCpu, 1793.202457);
  assert.equal(byId.get('partition-size')!.rows[0].partitionMB, 0.2);
  const world = byId.get('world-size')!.rows.filter((r) => r.hereWallS !== null);
  assert.deepEqual(world.map((r) => r.worldSize), [1, 2]);
  assert.equal(world[0].speedup, 1);
  assert.deepEqual(byId.get('no-data')!.rows.map((r) => r.ranks), [2]);
  const fmi = byId.get('fmi')!.rows;
  assert.deepEqual(fmi.map((r) => [r.channel, r.worldSize, r.fmiAwsMs]), [['tcp', 3, 11.2]]);
});

test('the study page: headline table as study.json says, every plot drawn, no console errors', async () => {
  const { page, plots } = await openChecked(browser, join(out, 'study.html'));
  try {
    assert.deepEqual(plots.map((p) => p.id), EXPERIMENT_IDS.map((id) => `plot-${id}`));
    const rows = results.experiments.flatMap((e) => e.headline.map((h) => ({ id: e.id, h })));
    assert.equal(await page.locator('#headline-table tbody tr').count(), rows.length);
    for (const [i, { id, h }] of rows.entries()) {
      const row = page.locator('#headline-table tbody tr').nth(i);
      assert.equal(await row.getAttribute('data-experiment'), id);
      assert.equal(await row.locator('td').nth(2).textContent(), h.here);
      if (h.ratio !== null) assert.equal(Number(await row.locator('td').nth(4).getAttribute('data-value')), h.ratio);
    }
    assert.equal(await page.locator('#shared').count(), results.machine.shared ? 1 : 0, 'a shared machine is said so');
    const shot = await browser.screenshot(page, 'study');
    assert.ok(pngSize(readFileSync(shot)).height > 1000);
  } finally {
    await page.close();
  }
});

test('cai bench study: --help lists the experiments; an unknown one is a usage error', () => {
  const cai = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', 'study', ...args], { encoding: 'utf8' });
  const help = cai('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout.replace(/\s+/g, ' '), /--only <ids> comma-separated experiments to run \(batch-size, data-size, partition-size, world-size, no-data, fmi\)/);
  const bad = cai('--out', join(out, 'x'), '--only', 'batch-size,nope');
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'cai: --only: unknown experiment nope (the study has batch-size, data-size, partition-size, world-size, no-data, fmi)\n');
});
