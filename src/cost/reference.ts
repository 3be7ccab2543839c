// Turns the study's published AWS measurements (CSV text) into time-model observations.
// aws_total_execution_time.csv gives each run's wall time and world size; aws_partition_stats.csv gives,
// for the same (partition MB, data GB, run), one invocation's inference time and the bits of model input.
import { DataError } from '../errors.js';
import { BYTES_PER_SAMPLE, type Observation, type RunConfig } from './time-model.js';

/**
 * Per-instance figures of the study's setup that the CSVs do not hold: 10,240 MB functions, 660.76 ms
 * init of a 50 MB invocation (reference README); download bandwidth assumed 50 MB/s, which puts the
 * published per-invocation durations (6.55, 11.8, 17.6, 25 s) about 1-4 s above the inference times.
 */
export const REFERENCE_RANK = Object.freeze({ coldStartS: 0.66076, downloadBytesPerS: 50e6, memoryGB: 10 });

export interface ReferenceRun extends Observation {
  partitionMB: number;
  dataGB: number;
  run: string;
}

/** Parse the two CSVs into one observation per measured run. */
export function referenceObservations(
  totalCsv: string,
  partitionCsv: string,
  rank: { coldStartS: number; downloadBytesPerS: number; memoryGB: number } = REFERENCE_RANK,
  names = { total: 'aws_total_execution_time.csv', partition: 'aws_partition_stats.csv' },
): ReferenceRun[] {
  const stats = new Map<string, { cpuS: number; bits: number }>();
  const maxBits = new Map<string, number>();
  for (const row of csvRows(partitionCsv, names.partition)) {
    const [mb, gb, run, cpu, , , bits] = row.cells;
    if (run === 'mean') continue;
    const pair = `${num(mb, names.partition, row.line)}/${num(gb, names.partition, row.line)}`;
    const b = num(bits, names.partition, row.line);
    stats.set(`${pair}/${run}`, { cpuS: num(cpu, names.partition, row.line), bits: b });
    maxBits.set(pair, Math.max(maxBits.get(pair) ?? 0, b));
  }
  const out: ReferenceRun[] = [];
  for (const row of csvRows(totalCsv, names.total)) {
    const [mbText, gbText, run, worlds, duration] = row.cells;
    const partitionMB = num(mbText, names.total, row.line);
    const dataGB = num(gbText, names.total, row.line);
    const pair = `${partitionMB}/${dataGB}`;
    const s = stats.get(`${pair}/${run}`);
    const bits = maxBits.get(pair);
    if (!s || !bits) throw new DataError(names.partition, `no row for partition ${partitionMB} MB, data ${dataGB} GB, run ${run}`);
    // A run that lost invocations reports fewer bits; the data set itself is the largest count seen.
    const samples = Math.round(bits / 8 / BYTES_PER_SAMPLE);
    const worldSize = num(worlds, names.total, row.line);
    const config: RunConfig = {
      samples,
      worldSize,
      perSampleInferenceS: s.cpuS / Math.ceil(samples / worldSize),
      coldStartS: rank.coldStartS,
      downloadBytesPerS: rank.downloadBytesPerS,
      memoryGB: rank.memoryGB,
    };
    out.push({ partitionMB, dataGB, run, config, wallS: parseDuration(duration, names.total, row.line) });
  }
  return out;
}

/** "mm:ss.sss" -> seconds. */
export function parseDuration(text: string, file: string, line: number): number {
  const m = /^(\d+):(\d{1,2}(?:\.\d+)?)$/.exec(text.trim());
  if (!m) throw new DataError(file, `line ${line}: duration "${text}" is not mm:ss.sss`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function* csvRows(text: string, file: string): Generator<{ line: number; cells: string[] }> {
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const cells = lines[i].split(',').map((c) => c.trim());
    if (cells.length < 5) throw new DataError(file, `line ${i + 1}: expected at least 5 columns, got ${cells.length}`);
    yield { line: i + 1, cells };
  }
}

function num(text: string | undefined, file: string, line: number): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(n)) throw new DataError(file, `line ${line}: "${text ?? ''}" is not a number`);
  return n;
}
