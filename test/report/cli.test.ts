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
      ['dz', 'bins'],
      ['timeline', 'bars'],
      ['throughput', 'bars'],
      ['cost', 'bars'],
    ],
  );
  assert.equal(out.plots[0].marks, 400);
  // Every file is in place and no temp file is left behind.
  const names = readdirSync(join(dir, 'report')).sort();
  assert.deepEqual(names, ['cost.png', 'cost.svg', 'dz.png', 'dz.svg', 'report.html', 'residual.png', 'residual.svg', 'scatter.png', 'scatter.svg', 'throughput.png', 'throughput.svg', 'timeline.png', 'timeline.svg']);
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
  assert.deepEqual(out.plots.map((p: { name: string }) => p.name), ['histogram'], 'no ranks, no bill: the predictions only');
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

test('cai report --compare puts runs side by side; --json prints the table with deltas against the first', async () => {
  const dirs: string[] = [];
  for (const [w, wall] of [[2, 12], [4, 6]] as const) {
    const d = join(root, 'cmp', `w${w}`);
    await writeRunDir(d, makeRun(300, w, { wallTimeS: wall, runId: `w${w}` }));
    dirs.push(d);
  }
  const out = join(root, 'cmp', 'out');
  const r = cai('report', '--compare', ...dirs, '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const t = JSON.parse(r.stdout);
  assert.equal(t.baseline, 'ranks 2');
  assert.deepEqual(t.differing, ['ranks']);
  assert.deepEqual(t.runs.map((x: { wallS: number }) => x.wallS), [12, 6]);
  assert.equal(t.runs[0].deltas.wallS, null);
  assert.deepEqual(t.runs[1].deltas.wallS, { abs: -6, rel: -0.5, better: true });
  assert.deepEqual(t.runs[1].deltas.samplesPerS, { abs: 25, rel: 1, better: true });
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')).runs.map((x: { label: string }) => x.label), ['ranks 2', 'ranks 4']);
  assert.deepEqual(readdirSync(out).sort(), ['accuracy.png', 'accuracy.svg', 'compare.html', 'compare.json', 'cost.png', 'cost.svg', 'throughput.png', 'throughput.svg', 'wall.png', 'wall.svg']);

  const human = cai('report', '--compare', ...dirs, '--out', out);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /ranks 4 .* 6\.00 s \(-50%\)/);
  assert.match(human.stdout, new RegExp(`compare: ${join(out, 'compare.html')}`));
});

test('cai report usage errors are one line and exit 2', () => {
  for (const [args, message] of [
    [[], /give either --run DIR or --compare DIR DIR/],
    [['--run', root, '--compare', root, root, '--out', root], /give either --run DIR or --compare/],
    [['--compare', root, '--out', root], /--compare needs at least two run directories, got 1/],
    [['--compare', root, root], /--compare needs --out DIR/],
  ] as const) {
    const r = cai('report', ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
