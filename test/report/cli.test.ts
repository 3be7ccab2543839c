import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePredictionsCsv } from '../../src/inference/predictions.js';
import { fmtValue } from '../../src/report/html.js';
import { makeRun, pngSize, writeRunDir } from './run-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'cai-report-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

function cai(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('cai report rebuilds the report of a finished run', async () => {
  const dir = join(root, 'run');
  const f = makeRun(400, 4, { failed: [2] });
  await writeRunDir(dir, f);
  const r = cai('report', '--run', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.html, join(dir, 'report', 'report.html'));
  assert.equal(out.samples, 400);
  assert.deepEqual(
    out.plots.map((p: { name: string; aggregation: string; marks: number }) => [p.name, p.aggregation]),
    [
      ['scatter', 'points'],
      ['residual', 'points'],
      ['timeline', 'bars'],
    ],
  );
  assert.equal(out.plots[0].marks, 400);
  // Every file is in place and no temp file is left behind.
  const names = readdirSync(join(dir, 'report')).sort();
  assert.deepEqual(names, ['report.html', 'residual.png', 'residual.svg', 'scatter.png', 'scatter.svg', 'timeline.png', 'timeline.svg']);
  assert.ok(pngSize(readFileSync(out.scatterPng)).width > 0);
  const html = readFileSync(out.html, 'utf8');
  assert.ok(html.includes(`data-key="accuracy.sigmaNmad" data-value="${f.summary.accuracy!.sigmaNmad}">${fmtValue(f.summary.accuracy!.sigmaNmad)}<`));
  assert.equal((html.match(/<tr data-rank=/g) ?? []).length, 4, 'three ranks with results and the failed one');
  assert.doesNotMatch(html, /<script|<link|src="http/i);

  // Human output names the page and the plots.
  const human = cai('report', '--run', dir, '--out', join(root, 'elsewhere'));
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^report: ${join(root, 'elsewhere', 'report.html')}\\n  scatter: `));
});

test('cai report reads a `cai infer` output directory without labels', async () => {
  const dir = join(root, 'infer');
  const { zPred } = makeRun(300, 1, { labelled: false });
  mkdirSync(dir, { recursive: true });
  await writePredictionsCsv(join(dir, 'predictions.csv'), { objectId: BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i)), zPred });
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ performance: { samples: 300, wallTimeS: 1.5 }, data: { samples: 300, labelled: false } }));
  const r = cai('report', '--run', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.plots.map((p: { name: string }) => p.name), ['histogram']);
  assert.ok(existsSync(out.histogramPng));
  assert.equal(out.scatterSvg, undefined);
});

test('bad run files give one line naming the file and exit code 3', async () => {
  const dir = join(root, 'bad');
  await writeRunDir(dir, makeRun(50, 2));
  const rankFile = join(dir, 'rank-00001.json');
  writeFileSync(rankFile, JSON.stringify({ ...JSON.parse(readFileSync(rankFile, 'utf8')), samples: -4 }));
  let r = cai('report', '--run', dir);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, `cai: ${rankFile}: invalid at samples: Number must be greater than or equal to 0\n`);

  unlinkSync(rankFile);
  unlinkSync(join(dir, 'predictions.csv'));
  r = cai('report', '--run', dir);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, `cai: ${join(dir, 'predictions.csv')}: file not found\n`);

  // A link could point anywhere: it is refused, not followed.
  const summary = join(dir, 'summary.json');
  writeFileSync(join(root, 'outside.json'), readFileSync(summary));
  unlinkSync(summary);
  symlinkSync(join(root, 'outside.json'), summary);
  r = cai('report', '--run', dir);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, `cai: ${summary}: not a regular file (links are not followed)\n`);

  r = cai('report', '--run', join(root, 'nope'));
  assert.equal(r.code, 3);
  assert.match(r.stderr, /nope: not a run directory/);
});
