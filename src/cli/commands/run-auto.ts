// `cai run --auto`: plan the data set like `cai plan`, then run the pick where this machine can start it —
// here over the local worker processes, or on a deployed state machine through the aws-lambda compute
// backend, with the data set repartitioned (and so uploaded) into S3 when the pick needs another partition
// size — or print the exact commands that run it. Every run it starts carries the prediction, which
// Summarize writes into summary.json beside the measured figures.
import type { Command } from 'commander';
import { basename, dirname } from 'node:path';
import { DEFAULT_LAMBDA_CONFIG } from '../../compute/lambda/config.js';
import { UsageError } from '../../errors.js';
import { planRun, type AutoPlan } from '../../planner/auto.js';
import type { Objective } from '../../planner/pick.js';
import { PLATFORM_NAMES } from '../../planner/platforms/index.js';
import { datasetPartitionMB, samplesPerPartition } from '../../planner/platforms/shared.js';
import type { PlatformName, Workload } from '../../planner/types.js';
import { isS3Uri } from '../../storage/index.js';
import type { RunConfig, Summary } from '../../workflow/contracts.js';
import type { RunRequestFlags } from '../flags/run-flags.js';
import { emit, note } from '../output.js';
import { commandsFor, predictedVsMeasured, renderAutoCommands } from '../render/auto.js';
import { candidateJson } from '../render/plan.js';
import { parsePlatforms, readEnv, readWorkload } from '../flags/planner-inputs.js';

export interface AutoRunFlags extends RunRequestFlags {
  out: string;
  auto?: boolean;
  deadline?: number;
  budget?: number;
  objective: Objective;
  profile?: string[];
  platforms?: string;
  stateMachineArn?: string;
  dryRun?: boolean;
  aggregation: string;
  fmiChannel?: string;
}

/** Placeholder bucket of the printed cloud commands when --out is a local directory. */
const BUCKET_PLACEHOLDER = 's3://BUCKET/cai';

/**
 * Plan and run. `execute` runs a local run the way `cai run` does; the returned summary (absent when
 * the pick was printed rather than run) is printed by the caller.
 */
export async function runAuto(flags: AutoRunFlags, cmd: Command, execute: (run: RunConfig) => Promise<Summary>): Promise<Summary | undefined> {
  const chosenByPlan = (['worldSize', 'concurrency', 'threads'] as const).filter((k) => flags[k] !== undefined);
  if (chosenByPlan.length) throw new UsageError(`--auto chooses --world-size, --concurrency and --threads itself; leave out ${chosenByPlan.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} (or run without --auto)`);
  if (flags.aggregation !== 'storage' || flags.fmiChannel !== undefined) throw new UsageError('--auto plans runs that aggregate through storage; leave out --aggregation fmi');
  const platforms = parsePlatforms(flags.platforms);
  // An empty $CAI_STATE_MACHINE_ARN is no state machine.
  const stateMachineArn = flags.stateMachineArn || undefined;
  const w = await readWorkload({ data: flags.data });
  const { env } = await readEnv({ profile: flags.profile });
  // A run started on AWS runs on the function that is deployed: its memory is --memory-mb when given.
  const lambdaMemoryMB = stateMachineArn ? (cmd.getOptionValueSource('memoryMb') === 'cli' ? flags.memoryMb : DEFAULT_LAMBDA_CONFIG.rankMemoryMb) : undefined;
  const plan = planRun(w, env, { platforms, constraints: { deadlineS: flags.deadline, budgetUsd: flags.budget, objective: flags.objective }, lambdaMemoryMB });
  const { chosen, prediction } = plan;
  const bucketRoot = isS3Uri(flags.out) ? flags.out.replace(/\/+$/, '') : BUCKET_PLACEHOLDER;
  const commands = commandsFor(chosen, { data: flags.data, out: flags.out, w, model: flags.model, bucketRoot });
  const startsHere = chosen.platform === 'local' || (chosen.platform === 'lambda' && stateMachineArn !== undefined && isS3Uri(flags.out));
  if (!startsHere || flags.dryRun) {
    const why = flags.dryRun ? 'dry run: nothing started' : whyNotHere(chosen.platform, stateMachineArn);
    emit(flags, { ran: false, why, pick: { ...candidateJson(chosen), reason: plan.pick.reason, prediction }, commands }, () => renderAutoCommands(chosen, plan.pick.reason, commands, why));
    return undefined;
  }
  note(flags, `cai run --auto: pick ${plan.pick.reason}`);
  const summary = chosen.platform === 'local' ? await runLocal(flags, plan, execute) : await runOnLambda({ ...flags, stateMachineArn }, w, plan, lambdaMemoryMB!);
  note(flags, predictedVsMeasured(summary));
  return summary;
}

function whyNotHere(platform: PlatformName, stateMachineArn: string | undefined): string {
  if (platform !== 'lambda') return `the pick runs on ${platform === 'gpu' ? 'EC2 GPU' : 'EC2'} instances, which this project does not start`;
  if (!stateMachineArn) return 'the pick runs on AWS Lambda and no deployed state machine was given (--state-machine-arn)';
  return 'the pick runs on AWS Lambda, whose functions write their results to S3: give --out s3://bucket/prefix';
}

async function runLocal(flags: AutoRunFlags, plan: AutoPlan, execute: (run: RunConfig) => Promise<Summary>): Promise<Summary> {
  const s = plan.chosen.settings;
  const model = flags.model ?? (await (await import('../../model/builtin.js')).ensureBuiltinModel());
  const { makeRunConfig } = await import('../../workflow/run-config.js');
  const { runRequestFields } = await import('../flags/run-flags.js');
  const run = makeRunConfig({ ...runRequestFields(flags), data: flags.data, model, out: flags.out, worldSize: Number(s.worldSize), concurrency: Number(s.concurrency), threads: Number(s.threads), batchSize: Number(s.batchSize) });
  return execute({ ...run, prediction: plan.prediction });
}

async function runOnLambda(flags: AutoRunFlags, w: Workload, plan: AutoPlan, memoryMb: number): Promise<Summary> {
  const s = plan.chosen.settings;
  const data = await stageInS3(flags, w, Number(s.partitionMB));
  const { makeExecutionRequest } = await import('../../compute/lambda/execution-input.js');
  const { runRequestFields } = await import('../flags/run-flags.js');
  const req = makeExecutionRequest(flags.stateMachineArn!, {
    ...runRequestFields(flags),
    data,
    out: flags.out,
    worldSize: Number(s.worldSize),
    concurrency: Number(s.concurrency),
    batchSize: Number(s.batchSize),
    memoryMb,
    ...(flags.model !== undefined ? { model: flags.model } : {}),
  });
  req.input.run = { ...req.input.run, prediction: plan.prediction };
  const { startAndFollow } = await import('../follow-execution.js');
  const summary = await startAndFollow(req, { json: flags.json, pollS: 5 }, (executionArn) => {
    note(flags, `cai run --auto: run ${req.input.run.runId} on ${req.stateMachineArn}, execution ${executionArn}`);
    return true;
  });
  return summary!;
}

/**
 * The data set where the Lambda functions read it, at the pick's partition size: as it is when it is in
 * S3 already at that size; otherwise repartitioned into <out>/data/<name>-<P>mb/ in S3 (which, for a data
 * set on this machine, is its upload). A copy left by an earlier attempt with the same source and size is reused.
 */
async function stageInS3(flags: AutoRunFlags, w: Workload, partitionMB: number): Promise<string> {
  if (isS3Uri(flags.data) && partitionMB === datasetPartitionMB(w)) return flags.data;
  const { openDataset, openLocalDataset, readManifest } = await import('../../data/dataset.js');
  const { openStorage, splitManifestUri } = await import('../../storage/index.js');
  const { repartition } = await import('../../data/repartition.js');
  const src = isS3Uri(flags.data)
    ? await (async () => {
        const { root, manifestKey } = splitManifestUri(flags.data, () => false);
        return openDataset(openStorage(root), manifestKey);
      })()
    : await openLocalDataset(flags.data);
  const name = basename(/\.json$/i.test(flags.data) ? dirname(flags.data.replace(/\/+$/, '')) : flags.data.replace(/\/+$/, '')) || 'data';
  const prefix = `data/${name}-${partitionMB}mb`;
  const target = `${flags.out.replace(/\/+$/, '')}/${prefix}`;
  const results = openStorage(flags.out);
  const partitionSamples = samplesPerPartition(w, partitionMB);
  const kept = await readManifest(results, `${prefix}/manifest.json`).catch(() => undefined);
  const source = (kept?.manifest.source ?? {}) as { repartitionedFrom?: unknown };
  if (kept && source.repartitionedFrom === src.location && kept.manifest.samples === src.manifest.samples && Math.max(...kept.manifest.partitions.map((p) => p.samples)) <= partitionSamples) {
    note(flags, `cai run --auto: using ${target} (${kept.manifest.partitions.length} partitions of up to ${partitionMB} MB, made earlier from ${src.location})`);
    return target;
  }
  note(flags, `cai run --auto: repartitioning ${src.location} into ${partitionMB} MB partitions at ${target}`);
  await repartition(src, prefix, { partitionSamples, storage: results, overwrite: true });
  return target;
}

/** The planner's flags mean nothing without --auto: say so rather than ignore them. */
export function checkNotAuto(flags: AutoRunFlags, cmd: Command): void {
  const given = (['deadline', 'budget', 'platforms', 'profile', 'dryRun'] as const).filter((k) => flags[k] !== undefined);
  if (cmd.getOptionValueSource('objective') === 'cli') given.push('objective' as never);
  if (given.length) throw new UsageError(`${given.map((k) => `--${String(k).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to --auto`);
}

export const AUTO_PLATFORMS_HELP = `platforms --auto may pick, comma-separated (default: ${PLATFORM_NAMES.join(',')})`;
