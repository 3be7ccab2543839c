// Partition size (the study's 25-100 MB per Lambda invocation): the inference time of one partition of
// each size here, beside one published invocation's, and the whole 12.6 GB run on Lambda at that partition
// size as published and as the planner models this code.
import { median } from '../../../metrics/statistics.js';
import { samplesOfMB } from '../context.js';
import { samplesOf } from '../published.js';
import type { StudyPoint, StudyRow } from '../results.js';
import { measureInference } from './measure.js';
import { lambdaModel } from './planner-figures.js';
import { fig, ratioOf, round, type Experiment } from './types.js';

const FULL_GB = 12.6;

export const partitionSize: Experiment = {
  id: 'partition-size',
  title: 'Partition size',
  async run(ctx) {
    const s = ctx.sizes;
    const pub = ctx.published;
    const points: StudyPoint[] = [];
    const rows: StudyRow[] = [];
    const fullSamples = samplesOf(pub, FULL_GB) ?? 0;
    for (const [i, mb] of s.partitionSizesMB.entries()) {
      ctx.step(`${mb} MB partition`, i, s.partitionSizesMB.length);
      const configs = pub.lambdaRuns.filter((c) => c.partitionMB === mb);
      const full = configs.find((c) => c.dataGB === FULL_GB);
      // The study's own partition of this size when it has one: the same samples, the same work.
      const samples = full?.samplesPerRank ?? samplesOfMB(mb);
      const ds = await ctx.dataset(samples, samples);
      const f = await measureInference({ model: ctx.model, dataset: ds, batchSize: 512, threads: ctx.cores, repeats: s.repeats });
      const published = configs.length ? median(configs.map((c) => c.inferenceS)) : null;
      const model = fullSamples ? lambdaModel(ctx.env, fullSamples, samples) : null;
      const row: StudyRow = {
        partitionMB: mb,
        samples,
        hereInferenceS: round(f.inferenceS),
        hereWallS: round(f.wallS),
        lambdaInferenceS: published === null ? null : round(published),
        lambdaModelInferenceS: model ? round(model.rankInferenceS) : null,
        vs_lambda: ratioOf(f.inferenceS, published),
        lambdaWallS: full ? round(full.wallS) : null,
        lambdaModelWallS: model ? round(model.wallS) : null,
        lambdaModelCostUsd: model ? round(model.costUsd, 3) : null,
        lambdaModelWall_vs_lambda: ratioOf(model?.wallS, full?.wallS),
      };
      rows.push(row);
      points.push({ series: `one partition here, ${ctx.cores} cores`, kind: 'measured', x: mb, y: row.hereInferenceS as number });
      if (published !== null) points.push({ series: 'one Lambda invocation, Python (published)', kind: 'published', x: mb, y: round(published) });
      if (model) points.push({ series: 'one Lambda invocation, this code (modelled)', kind: 'modelled', x: mb, y: round(model.rankInferenceS) });
    }
    const last = rows[rows.length - 1];
    return {
      description:
        'Inference seconds of one partition, by partition size: here in one process on all cores, and for one of the study\u2019s Lambda invocations (10,240 MB), whose whole 12.6 GB run at that partition size is in the last columns.',
      x: { title: 'partition size (MB)', log: false },
      y: { title: 'inference seconds of one partition', log: false },
      points,
      columns: [
        { key: 'partitionMB', title: 'Partition (MB)', kind: 'setting' },
        { key: 'samples', title: 'Samples', kind: 'setting' },
        { key: 'hereInferenceS', title: 'Here, inference s', kind: 'measured' },
        { key: 'hereWallS', title: 'Here, read to predictions s', kind: 'measured' },
        { key: 'lambdaInferenceS', title: 'Lambda invocation s', kind: 'published' },
        { key: 'lambdaModelInferenceS', title: 'This code on Lambda s (modelled)', kind: 'modelled' },
        { key: 'vs_lambda', title: 'Here / Lambda invocation', kind: 'ratio' },
        { key: 'lambdaWallS', title: '12.6 GB on Lambda, whole run s', kind: 'published' },
        { key: 'lambdaModelWallS', title: '12.6 GB, this code on Lambda s (modelled)', kind: 'modelled' },
        { key: 'lambdaModelCostUsd', title: '12.6 GB, this code on Lambda USD (modelled)', kind: 'modelled' },
        { key: 'lambdaModelWall_vs_lambda', title: 'Modelled / published 12.6 GB run', kind: 'ratio' },
      ],
      rows,
      headline: last
        ? [
            {
              what: `one ${last.partitionMB} MB partition (${(last.samples as number).toLocaleString('en-US')} samples), inference`,
              here: `${fig(last.hereInferenceS as number)} s on ${ctx.cores} cores`,
              reference: last.lambdaInferenceS === null ? '-' : `${fig(last.lambdaInferenceS as number)} s, one Lambda invocation (published)`,
              ratio: last.vs_lambda as number | null,
              ratioMeaning: 'here / Lambda invocation; below 1 is faster here',
            },
          ]
        : [],
      notes: [
        `Measured: one partition of each size in one process, ${ctx.cores} threads, batch 512, best of ${s.repeats}; its sample count is the study\u2019s partition of that size where it published one.`,
        'Published: aws_partition_stats.csv total_cpu_time (one invocation\u2019s inference, median over data sizes) and aws_total_execution_time.csv (12.6 GB, runs averaged).',
        `Modelled: the planner\u2019s Lambda model at 10,240 MB with ${ctx.profile ? 'the profile measured by the batch-size experiment' : 'the built-in profile'}.`,
      ],
    };
  },
};
