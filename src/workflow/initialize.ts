// The Initialize task: plan the run (partitions -> ranks), or, when the run id already has a plan, check
// it still fits and find the ranks whose verified results can be kept (resume). For an FMI run it also
// names this attempt's communicator: the ranks that will run, all of which must be able to run at once.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import { readManifest } from '../data/dataset.js';
import { openStorage } from '../storage/index.js';
import { CONTRACT_VERSION, aggregationOf, parseContract, resultKeys, runConfigSchema, type AggregationPlan, type Plan, type PlanRef, type RunConfig } from './contracts.js';
import { assignPartitions } from './plan.js';
import { readPlan, writePlan } from './plan-file.js';
import { verifiedRankResult } from './rank-results.js';
import { guardResults } from './run-lock.js';

export interface InitializeOutput {
  ref: PlanRef;
  plan: Plan;
}

export async function initialize(input: unknown): Promise<InitializeOutput> {
  const t0 = performance.now();
  const run: RunConfig = parseContract(runConfigSchema, JSON.stringify((input as { run?: unknown })?.run ?? null), '(run configuration)');
  const data = openStorage(run.data.uri);
  const results = guardResults(openStorage(run.results.uri), run);
  const { manifest, sha256: sha, location: manifestLocation } = await readManifest(data, run.data.manifestKey);

  const planKey = resultKeys.plan(run.runId);
  let plan: Plan;
  const existing = await results.head(planKey);
  if (existing) {
    plan = await readPlan(results, run.runId, planKey);
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
    await writePlan(results, plan);
  }

  const pending: { rank: number }[] = [];
  const reused: number[] = [];
  for (const a of plan.ranks) {
    if (existing && run.mode === 'inference' && (await verifiedRankResult(results, run.runId, a)) !== undefined) reused.push(a.rank);
    else pending.push({ rank: a.rank });
  }
  const ref: PlanRef = { planKey, worldSize: plan.worldSize, pending, reused, initializeMs: 0 };
  const agg = aggregationOf(run);
  if (agg.mode === 'fmi') {
    const channel = agg.chosen?.channel ?? (agg.channel === 'auto' ? undefined : agg.channel);
    if (!channel) throw new UsageError(`run ${run.runId}: fmi aggregation over channel "auto" must be resolved to tcp, redis or s3 by the engine that starts the channel`);
    // Every member waits for all the others, so they must all be running at the same time.
    if (run.concurrency < pending.length)
      throw new UsageError(`fmi aggregation needs every rank running at once: concurrency ${run.concurrency} is below the ${pending.length} ranks to run; raise the concurrency to ${pending.length} or use storage aggregation`);
    const aggregation: AggregationPlan = {
      schemaVersion: CONTRACT_VERSION,
      kind: 'cai-run-aggregation',
      runId: run.runId,
      attempt: randomBytes(8).toString('hex'),
      channel,
      members: pending.map((p) => p.rank),
      reused,
      initializeMs: performance.now() - t0,
      createdAt: new Date().toISOString(),
    };
    const key = resultKeys.aggregation(run.runId);
    await results.put(key, JSON.stringify(aggregation, null, 2) + '\n');
    ref.aggregation = { key, attempt: aggregation.attempt };
  }
  ref.initializeMs = performance.now() - t0;
  return { ref, plan };
}
