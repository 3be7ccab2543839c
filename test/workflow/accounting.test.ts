// A failed accounting fails the run: a data set whose object ids repeat (within and across partitions),
// written with the data set writer itself, runs every rank but must end "failed" with exit code 3 and the
// accounting line on stderr, never "complete". The accounting's status rules are checked as a pure function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatasetWriter } from '../../src/data/dataset.js';
import { synthesize } from '../../src/data/synth/generator.js';
import { ExitCode } from '../../src/errors.js';
import { CONTRACT_VERSION, summarySchema, type Plan } from '../../src/workflow/contracts.js';
import { accountFor, runExitCode } from '../../src/workflow/summary/accounting.js';
import type { RankRow } from '../../src/workflow/summary/inputs.js';
import { runLocalWorkflow } from '../../src/workflow/local-engine.js';
import { runCai } from './processes.js';
import { runConfig, seededModel, tempDir } from './support.js';

const PER = 8;

/** Three partitions of 8; partition 2 repeats partition 0's ids and partition 1 repeats one of its own: 9 duplicates. */
async function duplicateIdDataset(dir: string): Promise<void> {
  const p = synthesize({ samples: 3 * PER, seed: 5 });
  p.objectId.copyWithin(2 * PER, 0, PER);
  p.objectId[PER + 1] = p.objectId[PER]!;
  const w = await DatasetWriter.create(dir, { labelled: true, partitionSamples: PER, name: 'duplicate-ids' });
  await w.append(p);
  await w.finish();
}

test('cai run over a data set with duplicate object ids ends failed with exit 3 and says why', async () => {
  const t = tempDir();
  try {
    await duplicateIdDataset(join(t.dir, 'data'));
    const r = await runCai(['run', '--data', join(t.dir, 'data'), '--model', seededModel(), '--out', t.dir, '--world-size', '3', '--concurrency', '2', '--threads', '1', '--batch-size', '8', '--run-id', 'dup', '--no-report', '--json']);
    assert.equal(r.code, ExitCode.data, r.stderr);
    const s = summarySchema.parse(JSON.parse(r.stdout));
    assert.equal(s.status, 'failed');
    assert.equal(s.ranks.failed.length, 0, 'every rank ran');
    assert.equal(s.accounting.exactlyOnce, false);
    assert.equal(s.accounting.duplicateObjectIds, PER + 1);
    assert.equal(r.stderr, 'cai: run dup: accounting FAILED: 24 rows predicted, 24 expected; 9 duplicate object ids; 0 partitions disagree with the manifest\n');
  } finally {
    t.cleanup();
  }
});

test('the library run reports the same failed status', async () => {
  const t = tempDir();
  try {
    await duplicateIdDataset(join(t.dir, 'data'));
    const run = runConfig({ runId: 'dup-lib', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 1, concurrency: 1 });
    const { summary } = await runLocalWorkflow({ run });
    assert.equal(summary.status, 'failed');
    assert.equal(runExitCode(summary), ExitCode.data);
  } finally {
    t.cleanup();
  }
});

test('accounting: duplicates, mismatched partitions or a count mismatch fail the run whatever the tolerance; failed ranks alone make it partial', () => {
  const plan: Plan = {
    schemaVersion: CONTRACT_VERSION,
    kind: 'cai-run-plan',
    runId: 'a',
    mode: 'inference',
    worldSize: 2,
    manifest: { location: 'm', sha256: '0'.repeat(64), samples: 4, partitions: 2, bytes: 0, labelled: true },
    ranks: [0, 1].map((rank) => ({ rank, partitions: [{ path: `p${rank}`, samples: 2, bytes: 0 }], samples: 2, bytes: 0 })),
    createdAt: '',
  };
  const run = runConfig({ runId: 'a', data: { uri: '/d', manifestKey: 'manifest.json' }, results: { uri: '/r' }, model: { path: '/m' }, toleratedFailurePercentage: 50 });
  const ok: RankRow[] = [
    { rank: 0, reused: false },
    { rank: 1, reused: false },
  ];
  const ids = (...v: number[]): BigInt64Array => BigInt64Array.from(v.map(BigInt));
  const status = (rows: RankRow[], merged: BigInt64Array, mismatched: string[] = []): string => accountFor(run, plan, rows, merged, mismatched).status;
  assert.equal(status(ok, ids(1, 2, 3, 4)), 'complete');
  assert.equal(status(ok, ids(1, 2, 3, 3)), 'failed', 'a duplicate id');
  assert.equal(status(ok, ids(1, 2, 3, 4), ['p1']), 'failed', 'a partition whose ids disagree with the manifest');
  assert.equal(status(ok, ids(1, 2, 3)), 'failed', 'a row missing');
  const oneFailed: RankRow[] = [{ rank: 0, reused: false }, { rank: 1, reused: false, failure: { error: 'DataError', cause: 'x' } }];
  assert.equal(status(oneFailed, ids(1, 2)), 'partial', 'half the ranks failed, within the 50% tolerance');
  assert.equal(status(oneFailed, ids(1, 1)), 'failed', 'the surviving rows do not add up');
  const summary = (s: 'complete' | 'partial' | 'failed', exactlyOnce: boolean) => ({ status: s, accounting: { exactlyOnce } as never, configuration: { mode: 'inference' } as never });
  assert.deepEqual([runExitCode(summary('complete', true)), runExitCode(summary('partial', true)), runExitCode(summary('failed', true)), runExitCode(summary('failed', false))], [0, 5, 5, 3]);
});
