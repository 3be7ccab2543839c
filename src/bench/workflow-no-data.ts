// The study's "no data" experiment: the state machine fans out N ranks that do no inference, which times
// orchestration alone (planning, instance start-up, the Map, summarizing). Each fan-out runs twice on the
// same pool: first with every instance cold, then warm.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter } from '../data/dataset.js';
import { synthesize } from '../data/synth/generator.js';
import { computeBackend } from '../compute/index.js';
import { runLocalWorkflow } from '../workflow/local-engine.js';
import { makeRunConfig } from '../workflow/run-config.js';
import { UsageError } from '../errors.js';

export interface NoDataBenchOptions {
  fanOuts: number[];
  log?: (line: string) => void;
}

export interface NoDataFigures {
  ranks: number;
  /** Submit to summary, every instance starting cold. */
  coldWallS: number;
  /** The same on the now-warm instances. */
  warmWallS: number;
  /** First rank start to last rank end, cold and warm. */
  coldMapS: number;
  warmMapS: number;
  /** Mean time inside one no-op invocation as the pool saw it, warm. */
  warmInvocationMs: number;
  coldStarts: number;
  stateTransitions: number;
}

/** The largest fan-out offered: each rank is a worker process of its own on this machine. */
export const MAX_FAN_OUT = 256;

/** "2,4,16" -> [2, 4, 16]; anything but whole numbers from 1 to MAX_FAN_OUT is a usage error. */
export function parseFanOuts(text: string): number[] {
  const fanOuts = text.split(',').map((x) => Number(x.trim()));
  if (fanOuts.some((n) => !Number.isSafeInteger(n) || n < 1 || n > MAX_FAN_OUT)) throw new UsageError(`--ranks must be integers from 1 to ${MAX_FAN_OUT}, got "${text}"`);
  return fanOuts;
}

const MEMORY_MB = 512;
const TIMEOUT_S = 120;

export async function benchNoData(options: NoDataBenchOptions): Promise<NoDataFigures[]> {
  const log = options.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'cai-bench-nodata-'));
  try {
    // A manifest to plan from; no rank reads it in this mode.
    const w = await DatasetWriter.create(join(dir, 'data'), { labelled: true, partitionSamples: 1, name: 'no-data' });
    await w.append(synthesize({ samples: 1, seed: 1 }));
    await w.finish();
    const model = join(dir, 'unused.onnx');
    await writeFile(model, 'not read in no-data mode');
    const out: NoDataFigures[] = [];
    for (const n of options.fanOuts) {
      const pool = await computeBackend('local-processes').open({ concurrency: n, memoryMb: MEMORY_MB, timeoutS: TIMEOUT_S });
      try {
        const durations: number[] = [];
        pool.onEnd((e) => durations.push(e.durationMs));
        const once = async (label: string): Promise<{ wallS: number; mapS: number; meanMs: number; cold: number; transitions: number }> => {
          durations.length = 0;
          // The Map phase: from Initialize's end to Summarize's start, instance start-up included.
          const at: Partial<Record<string, number>> = {};
          const run = makeRunConfig({ data: join(dir, 'data'), model, out: dir, worldSize: n, concurrency: n, threads: 1, memoryMb: MEMORY_MB, timeoutS: TIMEOUT_S, mode: 'no-data', report: false, runId: `no-data-${n}-${label}` });
          const res = await runLocalWorkflow({ run, engine: pool, onProgress: (p) => (at[p.phase] ??= performance.now()) });
          const mapS = ((at.summarize ?? 0) - (at.ranks ?? 0)) / 1000;
          return { wallS: res.summary.wallTimeS, mapS, meanMs: durations.reduce((s, x) => s + x, 0) / Math.max(1, durations.length), cold: res.summary.invocations.coldStarts, transitions: res.stateTransitions };
        };
        const cold = await once('cold');
        const warm = await once('warm');
        const f: NoDataFigures = { ranks: n, coldWallS: cold.wallS, warmWallS: warm.wallS, coldMapS: cold.mapS, warmMapS: warm.mapS, warmInvocationMs: warm.meanMs, coldStarts: cold.cold, stateTransitions: cold.transitions };
        log(`${n} ranks: cold ${f.coldWallS.toFixed(2)} s (Map ${f.coldMapS.toFixed(2)} s), warm ${f.warmWallS.toFixed(2)} s (Map ${f.warmMapS.toFixed(2)} s)`);
        out.push(f);
      } finally {
        await pool.close();
      }
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatNoDataBench(rows: NoDataFigures[]): string {
  const base = rows[0];
  const load = loadavg()[0]!;
  const lines = [`"no data" fan-out: ranks that do no inference (wall = submit to summary.json); ${availableParallelism()} cores, load average ${load.toFixed(1)}`, '  ranks  cold wall s  cold Map s  warm wall s  warm Map s  warm invocation ms  cold starts  transitions  warm wall vs first'];
  for (const r of rows)
    lines.push(
      `  ${String(r.ranks).padStart(5)}  ${r.coldWallS.toFixed(2).padStart(11)}  ${r.coldMapS.toFixed(2).padStart(10)}  ${r.warmWallS.toFixed(2).padStart(11)}  ${r.warmMapS.toFixed(2).padStart(10)}  ${r.warmInvocationMs.toFixed(1).padStart(18)}  ${String(r.coldStarts).padStart(11)}  ${String(r.stateTransitions).padStart(11)}  ${base ? (r.warmWallS / base.warmWallS).toFixed(2).padStart(17) + 'x' : ''}`,
    );
  return lines.join('\n');
}
