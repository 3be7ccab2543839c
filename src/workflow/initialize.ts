// The Initialize task: plan the run (partitions -> ranks), or, when the run id already has a plan, check
// it still fits and find the ranks whose verified results can be kept (resume).
import { DataError, UsageError } from '../errors.js';
import { MAX_MANIFEST_BYTES, describeKey, sha256Hex } from '../data/dataset.js';
import { parseManifest } from '../data/manifest.js';
import { openStorage } from '../storage/index.js';
import { CONTRACT_VERSION, parseContract, planSchema, resultKeys, runConfigSchema, type Plan, type PlanRef, type RunConfig } from './contracts.js';
import { assignPartitions } from './plan.js';
import { verifiedRankResult } from './rank-results.js';

export interface InitializeOutput {
  ref: PlanRef;
  plan: Plan;
}

export async function initialize(input: unknown): Promise<InitializeOutput> {
  const t0 = performance.now();
  const run: RunConfig = parseContract(runConfigSchema, JSON.stringify((input as { run?: unknown })?.run ?? null), '(run configuration)');
  const data = openStorage(run.data.uri);
  const results = openStorage(run.results.uri);
  const manifestLocation = describeKey(data, run.data.manifestKey);
  const bytes = await data.get(run.data.manifestKey, { maxBytes: MAX_MANIFEST_BYTES });
  const sha = sha256Hex(bytes);
  const manifest = parseManifest(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), manifestLocation);

  const planKey = resultKeys.plan(run.runId);
  let plan: Plan;
  const existing = await results.head(planKey);
  if (existing) {
    const where = describeKey(results, planKey);
    plan = parseContract(planSchema, await results.get(planKey, { maxBytes: MAX_MANIFEST_BYTES }), where);
    if (plan.runId !== run.runId) throw new DataError(where, `belongs to run ${plan.runId}, not ${run.runId}`);
    if (plan.manifest.sha256 !== sha) throw new UsageError(`run ${run.runId} was planned on a different manifest than ${manifestLocation}; use a new --run-id`);
    if (plan.worldSize !== run.worldSize) throw new UsageError(`run ${run.runId} was planned with world size ${plan.worldSize}; rerun it with --world-size ${plan.worldSize} or use a new --run-id`);
    if (plan.mode !== run.mode) throw new UsageError(`run ${run.runId} was a ${plan.mode} run; use a new --run-id for a ${run.mode} run`);
  } else {
    plan = {
      schemaVersion: CONTRACT_VERSION,
      kind: 'cai-run-plan',
      runId: run.runId,
      mode: run.mode,
      worldSize: run.worldSize,
      manifest: { location: manifestLocation, sha256: sha, samples: manifest.samples, partitions: manifest.partitions.length, bytes: manifest.bytes, labelled: manifest.labelled },
      ranks: assignPartitions(manifest.partitions, run.worldSize),
      createdAt: new Date().toISOString(),
    };
    await results.put(planKey, JSON.stringify(plan, null, 2) + '\n');
  }

  const pending: { rank: number }[] = [];
  const reused: number[] = [];
  for (const a of plan.ranks) {
    if (existing && run.mode === 'inference' && (await verifiedRankResult(results, run.runId, a)) !== undefined) reused.push(a.rank);
    else pending.push({ rank: a.rank });
  }
  return { ref: { planKey, worldSize: plan.worldSize, pending, reused, initializeMs: performance.now() - t0 }, plan };
}
