// Reads a finished run's directory back for the report: summary.json (or metrics.json of a `cai infer`
// output), predictions.csv and the rank-NNNNN.json result files. Every file is size-checked, must be a
// regular file inside the directory (no symbolic links), and is parsed with its contract.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { parseContract, rankResultSchema, summarySchema } from '../workflow/contracts.js';
import { readPredictionsFile } from '../inference/predictions.js';
import type { HtmlRank } from './html.js';

export const SUMMARY_FILE = 'summary.json';
export const METRICS_FILE = 'metrics.json';
export const PREDICTIONS_FILE = 'predictions.csv';
export const RANK_FILE = /^rank-(\d{5,})\.json$/;
const MAX_SUMMARY_BYTES = 64 << 20;
const MAX_RANK_BYTES = 4 << 20;

export interface LoadedRun {
  /** The summary as written (extra fields kept), already checked against its contract. */
  summary: Record<string, unknown>;
  /** 'summary' for a workflow run, 'metrics' for a `cai infer` output directory. */
  kind: 'summary' | 'metrics';
  zTrue?: Float32Array;
  zPred: Float32Array;
  ranks: HtmlRank[];
}

/** Load a run directory; any unusable file is a DataError naming it. */
export async function loadRunDir(dir: string): Promise<LoadedRun> {
  const info = await lstat(dir).catch(() => null);
  if (!info || !info.isDirectory()) throw new DataError(dir, 'not a run directory (no such directory)');
  const names = new Set(await readdir(dir));
  let summary: Record<string, unknown>;
  let kind: LoadedRun['kind'];
  if (names.has(SUMMARY_FILE)) {
    const file = join(dir, SUMMARY_FILE);
    const text = await readSmall(file, MAX_SUMMARY_BYTES);
    parseContract(summarySchema, text, file);
    summary = JSON.parse(text) as Record<string, unknown>;
    kind = 'summary';
  } else if (names.has(METRICS_FILE)) {
    const file = join(dir, METRICS_FILE);
    const text = await readSmall(file, MAX_SUMMARY_BYTES);
    summary = parseObject(text, file);
    kind = 'metrics';
  } else {
    throw new DataError(dir, `not a run directory: neither ${SUMMARY_FILE} nor ${METRICS_FILE} is there`);
  }

  const predFile = join(dir, PREDICTIONS_FILE);
  if (!names.has(PREDICTIONS_FILE)) throw new DataError(predFile, 'file not found');
  await regularFile(predFile);
  const pred = await readPredictionsFile(predFile);

  const reusedList = (summary.ranks as { reused?: unknown } | undefined)?.reused;
  const reused = new Set(Array.isArray(reusedList) ? reusedList : []);
  const ranks: HtmlRank[] = [];
  for (const name of [...names].filter((n) => RANK_FILE.test(n)).sort()) {
    const file = join(dir, name);
    const r = parseContract(rankResultSchema, await readSmall(file, MAX_RANK_BYTES), file);
    const startedAt = Date.parse(r.timings.startedAt);
    const endedAt = Date.parse(r.timings.finishedAt);
    if (!Number.isFinite(startedAt) || !Number.isFinite(endedAt)) throw new DataError(file, 'timings.startedAt or timings.finishedAt is not a date');
    ranks.push({
      rank: r.rank,
      startedAt,
      endedAt,
      coldStartMs: r.timings.coldStartMs,
      downloadMs: r.timings.downloadMs,
      inferenceMs: r.timings.inferenceMs,
      uploadMs: r.timings.uploadMs,
      samples: r.samples,
      // Results kept from an earlier attempt of the same run id.
      status: reused.has(r.rank) ? 'reused' : r.status,
    });
  }
  return { summary, kind, zTrue: pred.zTrue, zPred: pred.zPred, ranks };
}

async function regularFile(file: string): Promise<number> {
  const st = await lstat(file).catch(() => null);
  if (!st) throw new DataError(file, 'file not found');
  if (!st.isFile()) throw new DataError(file, 'not a regular file (links are not followed)');
  return st.size;
}

async function readSmall(file: string, max: number): Promise<string> {
  const size = await regularFile(file);
  if (size > max) throw new DataError(file, `${size} bytes is more than the ${max} allowed`);
  return readFile(file, 'utf8');
}

function parseObject(text: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new DataError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError(file, 'not a JSON object');
  return v as Record<string, unknown>;
}
