// Reads a finished run back for the report: summary.json (or metrics.json of a `cai infer` output),
// predictions.csv and the result object of every rank the summary lists as succeeded. Two sources: a local
// directory (`cai report --run DIR`), where every file must be a regular file inside the directory (no
// symbolic links), and a run's results prefix on any Storage (the Report task, locally or on S3). Every
// file is size-checked before it is read and parsed with its contract; the file names are the contracts'.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { describeKey } from '../data/dataset.js';
import { METRICS_FILE } from '../inference/infer-job.js';
import { parsePredictionsCsv, readPredictionsFile, type Predictions } from '../inference/predictions.js';
import type { Storage } from '../storage/index.js';
import { MAX_RESULT_BYTES, MAX_SUMMARY_BYTES, RESULT_FILES, parseContract, rankResultSchema, summarySchema, type RankResult, type Summary } from '../workflow/contracts.js';
import type { HtmlRank } from './html.js';

/** A predictions file of the largest run a summary can describe (rows are under 64 bytes). */
const MAX_PREDICTIONS_BYTES = 2 ** 31 - 1;

export interface LoadedRun {
  /** The summary as written (extra fields kept), already checked against its contract. */
  summary: Record<string, unknown>;
  /** 'summary' for a workflow run, 'metrics' for a `cai infer` output directory. */
  kind: 'summary' | 'metrics';
  zTrue?: Float32Array;
  zPred: Float32Array;
  ranks: HtmlRank[];
  /** Devices the ranks ran on, as their results report them (a `cai infer` output: its one device). */
  devices: string[];
}

/** The files of one run's directory, wherever it is. */
export interface RunFiles {
  /** Names of the files directly in the directory. */
  names(): Promise<Set<string>>;
  read(name: string, maxBytes: number): Promise<Uint8Array>;
  readPredictions(name: string): Promise<Predictions>;
  /** The file as messages name it. */
  where(name: string): string;
}

/** A local run directory: regular files only, links refused rather than followed. */
export function localRunFiles(dir: string): RunFiles {
  const regularFile = async (name: string): Promise<number> => {
    const file = join(dir, name);
    const st = await lstat(file).catch(() => null);
    if (!st) throw new DataError(file, 'file not found');
    if (!st.isFile()) throw new DataError(file, 'not a regular file (links are not followed)');
    return st.size;
  };
  return {
    async names() {
      const info = await lstat(dir).catch(() => null);
      if (!info || !info.isDirectory()) throw new DataError(dir, 'not a run directory (no such directory)');
      return new Set(await readdir(dir));
    },
    async read(name, maxBytes) {
      const size = await regularFile(name);
      if (size > maxBytes) throw new DataError(join(dir, name), `${size} bytes is more than the ${maxBytes} allowed`);
      return readFile(join(dir, name));
    },
    async readPredictions(name) {
      await regularFile(name);
      return readPredictionsFile(join(dir, name));
    },
    where: (name) => join(dir, name),
  };
}

/** A run's directory as a key prefix ('results/<run>/') on any storage. */
export function storedRunFiles(storage: Storage, dirKey: string): RunFiles {
  return {
    async names() {
      const direct = (await storage.list(dirKey)).map((o) => o.key.slice(dirKey.length)).filter((n) => !n.includes('/'));
      return new Set(direct);
    },
    read: (name, maxBytes) => storage.get(dirKey + name, { maxBytes }),
    async readPredictions(name) {
      return parsePredictionsCsv(await storage.get(dirKey + name, { maxBytes: MAX_PREDICTIONS_BYTES }), describeKey(storage, dirKey + name));
    },
    where: (name) => describeKey(storage, dirKey + name),
  };
}

/** A rank of the report's table and timeline, from its result: its instance's start to its result's end. */
export function rankTimes(r: RankResult, reused: boolean): HtmlRank {
  return {
    rank: r.rank,
    startedAt: Date.parse(r.timings.startedAt) - r.timings.initMs,
    endedAt: Date.parse(r.timings.finishedAt),
    coldStartMs: r.timings.coldStartMs,
    // What the model waited for data; the rest of the download overlapped with inference.
    downloadMs: r.timings.waitMs,
    inferenceMs: r.timings.inferenceMs,
    uploadMs: r.timings.uploadMs,
    samples: r.samples,
    status: reused ? 'reused' : 'succeeded',
  };
}

/** Load a finished run; any unusable file is a DataError naming it. */
export async function loadRun(files: RunFiles): Promise<LoadedRun> {
  const names = await files.names();
  let summary: Record<string, unknown>;
  let kind: LoadedRun['kind'];
  let listed: Summary['ranks'] | undefined;
  if (names.has(RESULT_FILES.summary)) {
    const text = decode(await files.read(RESULT_FILES.summary, MAX_SUMMARY_BYTES));
    listed = parseContract(summarySchema, text, files.where(RESULT_FILES.summary)).ranks;
    summary = JSON.parse(text) as Record<string, unknown>;
    kind = 'summary';
  } else if (names.has(METRICS_FILE)) {
    summary = parseObject(decode(await files.read(METRICS_FILE, MAX_SUMMARY_BYTES)), files.where(METRICS_FILE));
    kind = 'metrics';
  } else {
    throw new DataError(files.where('').replace(/\/$/, ''), `not a run directory: neither ${RESULT_FILES.summary} nor ${METRICS_FILE} is there`);
  }

  if (!names.has(RESULT_FILES.predictions)) throw new DataError(files.where(RESULT_FILES.predictions), 'file not found');
  const pred = await files.readPredictions(RESULT_FILES.predictions);
  const { ranks, devices } = listed ? await summaryRanks(files, listed) : { ranks: [], devices: inferDevice(summary) };
  return { summary, kind, zTrue: pred.zTrue, zPred: pred.zPred, ranks, devices };
}

/** Load a local run directory (`cai report --run DIR`). */
export function loadRunDir(dir: string): Promise<LoadedRun> {
  return loadRun(localRunFiles(dir));
}

/** Every rank of the summary in rank order: the succeeded ones from their result files, the failed with their cause. */
async function summaryRanks(files: RunFiles, listed: Summary['ranks']): Promise<{ ranks: HtmlRank[]; devices: string[] }> {
  const reused = new Set(listed.reused);
  const ranks: HtmlRank[] = [];
  const devices = new Set<string>();
  for (const rank of listed.succeeded) {
    const name = RESULT_FILES.rank(rank);
    const where = files.where(name);
    const r = parseContract(rankResultSchema, await files.read(name, MAX_RESULT_BYTES), where);
    const times = rankTimes(r, reused.has(r.rank));
    if (!Number.isFinite(times.startedAt) || !Number.isFinite(times.endedAt)) throw new DataError(where, 'timings.startedAt or timings.finishedAt is not a date');
    ranks.push(times);
    devices.add(r.performance.device);
  }
  for (const f of listed.failed) ranks.push({ rank: f.rank, startedAt: 0, endedAt: 0, samples: f.samples, status: 'failed', error: f.cause });
  return { ranks: ranks.sort((a, b) => a.rank - b.rank), devices: [...devices].sort() };
}

/** The device a `cai infer` output names (performance.device), if any. */
function inferDevice(metrics: Record<string, unknown>): string[] {
  const device = (metrics.performance as { device?: unknown } | undefined)?.device;
  return typeof device === 'string' ? [device] : [];
}

function decode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
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
