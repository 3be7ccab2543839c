// Reading a rank's result object and predictions back from storage, checked against the rank's assignment.
// Initialize uses it to decide which ranks a rerun may keep; Summarize to merge them.
import { DataError } from '../errors.js';
import { MAX_MANIFEST_BYTES, describeKey, sha256Hex, Dataset } from '../data/dataset.js';
import { parseManifest } from '../data/manifest.js';
import type { Predictions } from '../inference/predictions.js';
import { openStorage } from '../storage/index.js';
import type { Storage } from '../storage/types.js';
import { parseContract, planSchema, rankResultSchema, resultKeys, type Plan, type RankAssignment, type RankResult, type RunConfig } from './contracts.js';
import { parsePredictionsCsv } from './predictions-io.js';

/** A rank result object is a few KB; anything far larger is not one. */
export const MAX_RESULT_BYTES = 16 * 1024 * 1024;
/** Predictions rows are under 64 bytes; refuse files far beyond what the rank's samples need. */
export const predictionsByteLimit = (samples: number): number => 1024 + samples * 256;

export interface LoadedRank {
  result: RankResult;
  predictions: Predictions;
}

/**
 * Check a rank result object against the rank's assignment: it must name this run and rank, report the
 * assigned sample count, list exactly the assigned partitions and counts, and point to its predictions.
 */
export function checkRankResult(r: RankResult, runId: string, a: RankAssignment, where: string): void {
  if (r.runId !== runId || r.rank !== a.rank) throw new DataError(where, `is the result of run ${r.runId} rank ${r.rank}, expected run ${runId} rank ${a.rank}`);
  if (r.samples !== a.samples) throw new DataError(where, `reports ${r.samples} samples but rank ${a.rank} was assigned ${a.samples}`);
  if (r.partitions.length !== a.partitions.length || r.partitions.some((p, i) => p.path !== a.partitions[i]!.path || p.samples !== a.partitions[i]!.samples))
    throw new DataError(where, `lists partitions that differ from rank ${a.rank}'s assignment`);
  const csvKey = resultKeys.rankPredictions(runId, a.rank);
  if (r.predictions.key !== csvKey || r.predictions.rows !== a.samples) throw new DataError(where, `points to predictions ${r.predictions.key} with ${r.predictions.rows} rows, expected ${csvKey} with ${a.samples}`);
}

/**
 * A rank's result and predictions, or a DataError saying what is wrong: the object must pass
 * checkRankResult, and its predictions file must hold one row per sample.
 */
export async function readRankResult(results: Storage, runId: string, a: RankAssignment): Promise<LoadedRank> {
  const key = resultKeys.rank(runId, a.rank);
  const where = describeKey(results, key);
  const r = parseContract(rankResultSchema, await results.get(key, { maxBytes: MAX_RESULT_BYTES }), where);
  checkRankResult(r, runId, a, where);
  const csvKey = resultKeys.rankPredictions(runId, a.rank);
  const limit = predictionsByteLimit(a.samples);
  const predictions = parsePredictionsCsv(await results.get(csvKey, { maxBytes: limit }), describeKey(results, csvKey));
  if (predictions.zPred.length !== a.samples) throw new DataError(describeKey(results, csvKey), `has ${predictions.zPred.length} rows but rank ${a.rank} has ${a.samples} samples`);
  return { result: r, predictions };
}

/** The rank's result when it verifies; undefined when it is missing or does not. */
export async function verifiedRankResult(results: Storage, runId: string, a: RankAssignment): Promise<LoadedRank | undefined> {
  if (!(await results.head(resultKeys.rank(runId, a.rank)))) return undefined;
  try {
    return await readRankResult(results, runId, a);
  } catch (e) {
    if (e instanceof DataError) return undefined;
    throw e;
  }
}

/** Open the run's data set and check it is the one the run was planned on. */
export async function openPlannedDataset(run: RunConfig, plan: Plan): Promise<Dataset> {
  const storage = openStorage(run.data.uri);
  const location = describeKey(storage, run.data.manifestKey);
  const bytes = await storage.get(run.data.manifestKey, { maxBytes: MAX_MANIFEST_BYTES });
  if (sha256Hex(bytes) !== plan.manifest.sha256) throw new DataError(location, 'changed since this run was planned; start a new run id');
  const manifest = parseManifest(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), location);
  const slash = run.data.manifestKey.lastIndexOf('/');
  return new Dataset(manifest, storage, slash < 0 ? '' : run.data.manifestKey.slice(0, slash + 1), location);
}

/** The run's plan; the key must be the run's own plan key. */
export async function readPlan(results: Storage, run: RunConfig, planKey: string): Promise<Plan> {
  const expected = resultKeys.plan(run.runId);
  if (planKey !== expected) throw new DataError(planKey, `plan key must be ${expected} for run ${run.runId}`);
  const where = describeKey(results, planKey);
  const plan = parseContract(planSchema, await results.get(planKey, { maxBytes: MAX_MANIFEST_BYTES }), where);
  if (plan.runId !== run.runId) throw new DataError(where, `belongs to run ${plan.runId}, not ${run.runId}`);
  return plan;
}
