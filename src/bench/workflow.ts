// Workflow benchmark: the same data run as W=1 and W=2 ranks (one thread per instance), and both against
// the pure model time for the same samples measured in this process. Prints figures and ratios; the
// targets are a speedup >= 1.7 on two cores, orchestration + I/O + summarizing <= 15% of the run, and a
// cold start <= 0.3 s per instance. The cold start is shown in its parts (process, code, session host,
// model read, session creation) beside what the invocations actually waited for, and the session's open
// is measured in this process both fresh and through the optimized-model cache.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, openLocalDataset } from '../data/dataset.js';
import { synthesize } from '../data/synth/generator.js';
import { slicePartition, type Partition } from '../data/partition.js';
import { buildAstroMAEOnnx } from '../model/astromae.js';
import { InferenceEngine } from '../inference/engine.js';
import { openSession } from '../inference/session.js';
import { runLocalWorkflow } from '../workflow/local-engine.js';
import { makeRunConfig } from '../workflow/run-config.js';
import type { ColdStartParts, ColdStartsSummary, Summary } from '../workflow/contracts.js';
import { UsageError } from '../errors.js';

export interface WorkflowBenchOptions {
  samples: number;
  partitions: number;
  batchSize: number;
  /** Keep the temporary data and results (for inspection). */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface WorkflowRunFigures {
  worldSize: number;
  concurrency: number;
  threadsPerInstance: number;
  wallS: number;
  /** Sum over ranks of model time. */
  inferenceS: number;
  coldStartS: number;
  /** The cold instances' start-ups as the summary reports them (absent: no cold instance). */
  coldStart?: ColdStartsSummary;
  samplesPerS: number;
  /** CPU time this process (state machine, pool, Initialize, Summarize) used during the run. */
  orchestratorCpuS: number;
  status: Summary['status'];
}

/** One session open, in this process: reading the model and creating the session, seconds. */
export interface SessionOpenFigures {
  readS: number;
  createS: number;
  cache: ColdStartParts['cache'];
}

export interface WorkflowBenchResult {
  /** 1-minute load averages before and after: above the core count, other work was competing. */
  machine: { cores: number; node: string; loadBefore: number; loadAfter: number };
  samples: number;
  partitions: number;
  batchSize: number;
  /** Model time for all samples in one process, one thread, data already in memory. */
  computeS: number;
  /** The session opened in this process without the cache, then through it (filled by the first if empty). */
  sessionOpen: { fresh: SessionOpenFigures; cached: SessionOpenFigures };
  w1: WorkflowRunFigures;
  w2: WorkflowRunFigures;
  /** w1.wallS / w2.wallS */
  speedup: number;
  /** (w1.wallS - computeS) / w1.wallS: the part of the 1-rank run that is not model time. */
  overheadW1: number;
  /** (w2.wallS - computeS / 2) / w2.wallS against perfect two-way parallel model time. */
  overheadW2: number;
  targets: { speedup: number; overhead: number; coldStartS: number };
  dir?: string;
}

function figures(s: Summary, orchestratorCpuS: number): WorkflowRunFigures {
  return {
    worldSize: s.configuration.worldSize,
    concurrency: s.configuration.concurrency,
    threadsPerInstance: s.configuration.threadsPerInstance,
    wallS: s.wallTimeS,
    inferenceS: s.performance.total.inferenceS,
    coldStartS: s.performance.total.coldStartS,
    ...(s.performance.coldStarts ? { coldStart: s.performance.coldStarts } : {}),
    samplesPerS: s.performance.total.samplesPerS ?? 0,
    orchestratorCpuS,
    status: s.status,
  };
}

/** Open the model once in this process, as an instance's session would (one thread), and close it. */
async function timeSessionOpen(model: string, cacheDir: string | null | undefined): Promise<SessionOpenFigures> {
  const opened = await openSession(model, { threads: 1, ...(cacheDir !== undefined ? { cacheDir } : {}) });
  await opened.session.release();
  return { readS: opened.timings.readMs / 1000, createS: opened.timings.createMs / 1000, cache: opened.timings.cache };
}

export async function benchWorkflow(options: WorkflowBenchOptions): Promise<WorkflowBenchResult> {
  if (options.samples < 2 || options.partitions < 2 || options.partitions > options.samples) throw new UsageError('need --samples >= --partitions >= 2');
  const log = options.log ?? (() => undefined);
  const loadBefore = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'cai-bench-workflow-'));
  try {
    const per = Math.ceil(options.samples / options.partitions);
    log(`data: ${options.samples} synthetic samples in ${options.partitions} partitions of ${per}`);
    const w = await DatasetWriter.create(join(dir, 'data'), { labelled: true, partitionSamples: per, name: 'bench-workflow' });
    for (let start = 0; start < options.samples; start += 500) await w.append(synthesize({ samples: Math.min(500, options.samples - start), seed: 7, startIndex: start }));
    await w.finish();
    const model = join(dir, 'model.onnx');
    await writeFile(model, buildAstroMAEOnnx({ seed: 1 }));

    // The session's open, fresh (every optimization at load) and through the cache (the instances' way);
    // the second fills the cache when this machine has no entry for the model yet.
    const fresh = await timeSessionOpen(model, null);
    let cached = await timeSessionOpen(model, undefined);
    if (cached.cache === 'written') cached = await timeSessionOpen(model, undefined);
    log(`session open: fresh ${(fresh.readS + fresh.createS).toFixed(2)} s (read ${fresh.readS.toFixed(2)}, create ${fresh.createS.toFixed(2)}); cached ${(cached.readS + cached.createS).toFixed(2)} s (read ${cached.readS.toFixed(2)}, create ${cached.createS.toFixed(2)}, ${cached.cache})`);

    // Baseline: the model alone over the same samples, one thread, partitions decoded beforehand.
    const ds = await openLocalDataset(join(dir, 'data'));
    const parts: Partition[] = [];
    for (const e of ds.manifest.partitions) parts.push(await ds.readPartition(e));
    const engine = await InferenceEngine.open(model, { batchSize: options.batchSize, threads: 1 });
    // One warm-up batch so the baseline, like a warm instance, does not pay first-call costs.
    await engine.predict(slicePartition(parts[0]!, 0, Math.min(options.batchSize, parts[0]!.count)));
    let computeMs = 0;
    for (const p of parts) computeMs += (await engine.predict(p)).inferenceMs;
    await engine.close();
    parts.length = 0;
    const computeS = computeMs / 1000;
    log(`model alone: ${computeS.toFixed(2)} s for ${options.samples} samples (1 thread)`);

    const runOnce = async (worldSize: number): Promise<WorkflowRunFigures> => {
      const run = makeRunConfig({ data: join(dir, 'data'), model, out: dir, worldSize, concurrency: worldSize, threads: 1, batchSize: options.batchSize, report: false, runId: `bench-w${worldSize}` });
      const cpu0 = process.cpuUsage();
      const { summary } = await runLocalWorkflow({ run });
      const cpu = process.cpuUsage(cpu0);
      const f = figures(summary, (cpu.user + cpu.system) / 1e6);
      log(`W=${worldSize}: ${f.wallS.toFixed(2)} s wall, ${f.inferenceS.toFixed(2)} s model time over ranks, ${f.coldStartS.toFixed(2)} s cold starts (${(f.coldStart?.meanPartsS.waitedS ?? 0).toFixed(2)} s waited per instance), ${f.samplesPerS.toFixed(0)} samples/s, orchestrator CPU ${f.orchestratorCpuS.toFixed(2)} s (${f.status})`);
      return f;
    };
    const w1 = await runOnce(1);
    const w2 = await runOnce(2);
    return {
      machine: { cores: availableParallelism(), node: process.version, loadBefore, loadAfter: loadavg()[0]! },
      samples: options.samples,
      partitions: options.partitions,
      batchSize: options.batchSize,
      computeS,
      sessionOpen: { fresh, cached },
      w1,
      w2,
      speedup: w1.wallS / w2.wallS,
      overheadW1: (w1.wallS - computeS) / w1.wallS,
      overheadW2: (w2.wallS - computeS / 2) / w2.wallS,
      targets: { speedup: 1.7, overhead: 0.15, coldStartS: 0.3 },
      ...(options.keep ? { dir } : {}),
    };
  } finally {
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}

function coldStartLines(label: string, c: ColdStartsSummary | undefined, target: number): string[] {
  const s = (x: number): string => `${x.toFixed(3)} s`;
  if (!c) return [`  ${label}: no cold instance`];
  const p = c.meanPartsS;
  const caches = Object.entries(c.cache).map(([k, n]) => `${n} ${k}`).join(', ');
  return [
    `  ${label} cold start, mean of ${c.instances} instance${c.instances === 1 ? '' : 's'}   ${s(c.meanS)}   (target <= ${target} s: ${c.meanS <= target ? 'meets' : 'MISSES'})`,
    `      process ${s(p.processS)}, code ${s(p.codeS)}, session host ${s(p.sessionHostS)}, model read ${s(p.modelReadS)}, session creation ${s(p.sessionCreateS)}; cache: ${caches}`,
    `      waited for by the invocation ${s(p.waitedS)} (the rest overlapped Initialize and the first download)`,
  ];
}

export function formatWorkflowBench(r: WorkflowBenchResult): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const mark = (ok: boolean): string => (ok ? 'meets' : 'MISSES');
  const open = (o: SessionOpenFigures): string => `${(o.readS + o.createS).toFixed(3)} s (read ${o.readS.toFixed(3)}, create ${o.createS.toFixed(3)})`;
  return [
    `workflow benchmark: ${r.samples} samples, ${r.partitions} partitions, batch ${r.batchSize}, one thread per instance, ${r.machine.cores} cores, node ${r.machine.node}`,
    `  load average ${r.machine.loadBefore.toFixed(1)} before, ${r.machine.loadAfter.toFixed(1)} after${Math.max(r.machine.loadBefore, r.machine.loadAfter) > r.machine.cores ? ' (other work competed for the cores: figures are not representative)' : ''}`,
    `  model alone (1 thread, data in memory)  ${r.computeS.toFixed(2)} s`,
    `  W=1 run (1 instance)                    ${r.w1.wallS.toFixed(2)} s wall  (cold start ${r.w1.coldStartS.toFixed(2)} s, orchestrator CPU ${r.w1.orchestratorCpuS.toFixed(2)} s)`,
    `  W=2 run (2 instances)                   ${r.w2.wallS.toFixed(2)} s wall  (cold starts ${r.w2.coldStartS.toFixed(2)} s in all, orchestrator CPU ${r.w2.orchestratorCpuS.toFixed(2)} s)`,
    `  speedup W=1 -> W=2                      ${r.speedup.toFixed(2)}x   (target >= ${r.targets.speedup}: ${mark(r.speedup >= r.targets.speedup)})`,
    `  overhead of the W=1 run vs model time   ${pct(r.overheadW1)}   (target <= ${pct(r.targets.overhead)}: ${mark(r.overheadW1 <= r.targets.overhead)})`,
    `  overhead of the W=2 run vs model time/2 ${pct(r.overheadW2)}   (target <= ${pct(r.targets.overhead)}: ${mark(r.overheadW2 <= r.targets.overhead)})`,
    ...coldStartLines('W=1', r.w1.coldStart, r.targets.coldStartS),
    ...coldStartLines('W=2', r.w2.coldStart, r.targets.coldStartS),
    `  session open in this process, 1 thread: fresh ${open(r.sessionOpen.fresh)}; through the cache ${open(r.sessionOpen.cached)} (${r.sessionOpen.cached.cache})`,
  ].join('\n');
}
