// World size: `cai run` over one data set with 1, 2, 4... ranks on this machine (at most as many at once
// as it has cores), the same data set on Lambda as the planner models this code, and the study's Lambda
// runs (41-517 ranks, 25 MB partitions) as published.
import { join } from 'node:path';
import { BYTES_PER_SAMPLE } from '../../../cost/index.js';
import { runLocalWorkflow } from '../../../workflow/local-engine.js';
import { makeRunConfig } from '../../../workflow/run-config.js';
import { samplesOfMB } from '../context.js';
import { PLATFORMS } from '../published.js';
import type { StudyPoint, StudyRow } from '../results.js';
import { lambdaModel } from './planner-figures.js';
import { fig, ratioOf, round, type Experiment } from './types.js';

export const worldSize: Experiment = {
  id: 'world-size',
  title: 'World size',
  async run(ctx) {
    const s = ctx.sizes;
    const samples = samplesOfMB(s.worldDataMB);
    const partitionSamples = Math.ceil(samples / s.worldPartitions);
    const ds = await ctx.dataset(samples, partitionSamples);
    const points: StudyPoint[] = [];
    const rows: StudyRow[] = [];
    let base: number | undefined;
    for (const [i, w] of s.worldSizes.entries()) {
      ctx.step(`${w} rank${w === 1 ? '' : 's'}`, i, s.worldSizes.length);
      const concurrency = Math.min(w, ctx.cores);
      const run = makeRunConfig({ data: ds.dir, model: ctx.model, out: join(ctx.tmp, 'runs'), worldSize: w, concurrency, threads: Math.max(1, Math.floor(ctx.cores / concurrency)), report: false, runId: `study-w${w}-${Date.now().toString(36)}` });
      const { summary } = await runLocalWorkflow({ run });
      const rate = summary.performance.total.samplesPerS ?? samples / summary.wallTimeS;
      base ??= summary.wallTimeS;
      const model = lambdaModel(ctx.env, samples, partitionSamples, w);
      const row: StudyRow = {
        worldSize: w,
        concurrency,
        samples,
        hereWallS: round(summary.wallTimeS),
        hereSamplesPerS: round(rate),
        speedup: round(base / summary.wallTimeS, 3),
        lambdaModelWallS: round(model.wallS),
        lambdaModelSamplesPerS: round(samples / model.wallS),
        vs_lambdaModel: ratioOf(rate, samples / model.wallS),
        lambdaSamplesPerS: null,
        dataGB: round((samples * BYTES_PER_SAMPLE) / 1e9, 3),
      };
      rows.push(row);
      points.push({ series: `cai run here, ${ctx.cores} cores`, kind: 'measured', x: w, y: row.hereSamplesPerS as number });
      points.push({ series: 'the same data set, this code on Lambda (modelled)', kind: 'modelled', x: w, y: row.lambdaModelSamplesPerS as number });
    }
    for (const c of ctx.published.lambdaRuns.filter((x) => x.partitionMB === 25)) {
      const rate = c.samples / c.wallS;
      rows.push({ worldSize: c.worldSize, concurrency: c.worldSize, samples: c.samples, hereWallS: null, hereSamplesPerS: null, speedup: null, lambdaModelWallS: null, lambdaModelSamplesPerS: null, vs_lambdaModel: null, lambdaSamplesPerS: round(rate), dataGB: c.dataGB });
      points.push({ series: `${PLATFORMS.lambda.name}, Python, the study\u2019s data sets (published)`, kind: 'published', x: c.worldSize, y: round(rate) });
    }
    const measured = rows.filter((r) => r.hereWallS !== null);
    const top = measured[measured.length - 1];
    return {
      description:
        'Samples per second of a whole `cai run` (submit to summary.json) over one data set, by world size (ranks), beside the same data set on Lambda as the planner models this code and the study\u2019s Lambda runs of 1-12.6 GB in 25 MB partitions (one rank each).',
      x: { title: 'world size (ranks)', log: true },
      y: { title: 'samples per second of the whole run', log: true },
      points,
      columns: [
        { key: 'worldSize', title: 'Ranks', kind: 'setting' },
        { key: 'concurrency', title: 'At once', kind: 'setting' },
        { key: 'samples', title: 'Samples', kind: 'setting' },
        { key: 'dataGB', title: 'Data (GB)', kind: 'setting' },
        { key: 'hereWallS', title: 'Here, wall s', kind: 'measured' },
        { key: 'hereSamplesPerS', title: 'Here, samples/s', kind: 'measured' },
        { key: 'speedup', title: 'Speedup over 1 rank', kind: 'measured' },
        { key: 'lambdaModelWallS', title: 'This code on Lambda, wall s (modelled)', kind: 'modelled' },
        { key: 'lambdaModelSamplesPerS', title: 'This code on Lambda, samples/s (modelled)', kind: 'modelled' },
        { key: 'vs_lambdaModel', title: 'Here / Lambda (modelled)', kind: 'ratio' },
        { key: 'lambdaSamplesPerS', title: 'Lambda samples/s (published)', kind: 'published' },
      ],
      rows,
      headline: top
        ? [
            {
              what: `cai run, ${(samples).toLocaleString('en-US')} samples, ${top.worldSize} ranks`,
              here: `${fig(top.hereSamplesPerS as number)} samples/s (${fig(top.speedup as number)}x 1 rank)`,
              reference: `${fig(top.lambdaModelSamplesPerS as number)} samples/s on Lambda, same ranks (modelled)`,
              ratio: top.vs_lambdaModel as number | null,
              ratioMeaning: 'here / Lambda; above 1 is faster here',
            },
          ]
        : [],
      notes: [
        `Measured: cai run on local worker processes, ${s.worldPartitions} partitions, at most ${ctx.cores} ranks at once with ${ctx.cores} / at-once threads each; wall time from submit to summary.json, cold worker processes each run.`,
        'Published: aws_total_execution_time.csv, 25 MB partitions: the study\u2019s data set sizes over their whole-run wall time.',
        `Modelled: the planner\u2019s Lambda model at 10,240 MB for this data set and world size, with ${ctx.profile ? 'the profile measured by the batch-size experiment' : 'the built-in profile'}; its fixed orchestration (${ctx.env.timeParams.orchestrationS} s, fitted on the study\u2019s runs) dominates a data set this small.`,
      ],
    };
  },
};
