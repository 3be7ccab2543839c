// Merging the ranks' predictions into one set in manifest partition order, checking each partition's rows
// against its plan entry (first and last object id) on the way. Pure: rows in, arrays out.
import type { Predictions } from '../../inference/predictions.js';
import type { Plan } from '../contracts.js';
import type { RankRow } from './inputs.js';

export interface MergedPredictions {
  merged: Predictions;
  /** Partitions whose first or last object id disagrees with the plan (from the manifest). */
  mismatched: string[];
}

/**
 * The loaded rows' predictions, partition by partition, sorted by the partition's index in the manifest
 * (`manifestIndex`; partitions it does not know go last). `labelled` decides whether z_true is kept.
 */
export function mergeRankPredictions(plan: Plan, rows: readonly RankRow[], manifestIndex: ReadonlyMap<string, number>, labelled: boolean): MergedPredictions {
  const mismatched: string[] = [];
  const slices: { index: number; objectId: BigInt64Array; zTrue?: Float32Array; zPred: Float32Array }[] = [];
  for (const row of rows) {
    if (!row.loaded) continue;
    const a = plan.ranks[row.rank]!;
    const p = row.loaded.predictions;
    let at = 0;
    for (const part of a.partitions) {
      const ids = p.objectId.subarray(at, at + part.samples);
      const first = ids.length ? ids[0]!.toString() : undefined;
      const last = ids.length ? ids[ids.length - 1]!.toString() : undefined;
      if ((part.firstObjectId !== undefined && first !== part.firstObjectId) || (part.lastObjectId !== undefined && last !== part.lastObjectId)) mismatched.push(part.path);
      slices.push({ index: manifestIndex.get(part.path) ?? Number.MAX_SAFE_INTEGER, objectId: ids, zTrue: p.zTrue?.subarray(at, at + part.samples), zPred: p.zPred.subarray(at, at + part.samples) });
      at += part.samples;
    }
  }
  slices.sort((x, y) => x.index - y.index);
  const total = slices.reduce((s, x) => s + x.zPred.length, 0);
  const merged: Predictions = { objectId: new BigInt64Array(total), zTrue: labelled ? new Float32Array(total) : undefined, zPred: new Float32Array(total) };
  let at = 0;
  for (const s of slices) {
    merged.objectId.set(s.objectId, at);
    merged.zPred.set(s.zPred, at);
    if (merged.zTrue) merged.zTrue.set(s.zTrue ?? new Float32Array(s.zPred.length).fill(NaN), at);
    at += s.zPred.length;
  }
  return { merged, mismatched };
}
