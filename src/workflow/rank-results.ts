// Reading a rank's result object and predictions back from storage, checked against the rank's assignment.
// Initialize uses it to decide which ranks a rerun may keep; Summarize to merge them.
import { DataError } from '../errors.js';
import { describeKey } from '../data/dataset.js';
import { parsePredictionsCsv, type Predictions } from '../inference/predictions.js';
import type { Storage } from '../storage/index.js';
import { MAX_RESULT_BYTES, parseContract, rankResultSchema, resultKeys, type RankAssignment, type RankResult } from './contracts.js';

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
