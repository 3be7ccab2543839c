// The Report task as its own state after Summarize, on the local engine: the page is written next to the
// results by an instance of the compute engine; a report that cannot be made is recorded, and the run
// whose summary was written still succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocalWorkflow, type RunProgress } from '../../src/workflow/local-engine.js';
import { reportOutputSchema, summarySchema } from '../../src/workflow/contracts.js';
import { handleReport } from '../../src/report/report-task.js';
import { runConfig, seededModel, tempDir, writeDataset } from './support.js';

test('a run with a report enters Report after Summarize; a report that fails is recorded, not fatal', async () => {
  const t = tempDir();
  try {
    await writeDataset({ dir: join(t.dir, 'data'), partitions: 3, perPartition: 12 });
    const run = runConfig({ runId: 'reported', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, report: true });
    const phases: RunProgress['phase'][] = [];
    const res = await runLocalWorkflow({ run, onProgress: (p) => phases.at(-1) !== p.phase && phases.push(p.phase) });
    const page = join(t.dir, 'results/reported/report/report.html');
    assert.deepEqual(phases, ['initialize', 'ranks', 'summarize', 'report', 'done']);
    assert.equal(res.stateTransitions, 1 + 1 + 2 + 1 + 1, 'Initialize, Map, 2 x RunRank, Summarize, Report');
    assert.deepEqual(res.output, { runId: 'reported', status: 'complete', summary: join(t.dir, 'results/reported/summary.json'), report: page });
    assert.equal(res.summary.outputs.report, page);
    assert.equal(res.summary.invocations.total, 2, 'the report invocation is not one of the Map\'s');
    const html = readFileSync(page, 'utf8');
    assert.match(html, new RegExp(`data-key="accuracy.sigmaNmad" data-value="${res.summary.accuracy!.sigmaNmad}"`));
    for (const f of ['scatter.svg', 'scatter.png', 'residual.svg', 'residual.png', 'timeline.svg', 'timeline.png']) assert.ok(existsSync(join(t.dir, 'results/reported/report', f)), f);

    // The stored predictions damaged after Summarize: Report says why and takes the page out of the summary.
    writeFileSync(join(t.dir, 'results/reported/predictions.csv'), 'not,a,predictions file\n');
    const out = reportOutputSchema.parse(await handleReport({ run, summary: { runId: 'reported', status: 'complete', summary: res.output.summary } }));
    assert.equal(out.report, null);
    assert.equal(out.reportError?.error, 'DataError');
    assert.match(String(out.reportError?.cause), /predictions\.csv: line 1: expected header "object_id,z_true,z_pred"/);
    const stored = summarySchema.parse(JSON.parse(readFileSync(join(t.dir, 'results/reported/summary.json'), 'utf8')));
    assert.equal(stored.outputs.report, null);
    assert.equal(stored.status, 'complete');
  } finally {
    t.cleanup();
  }
});
