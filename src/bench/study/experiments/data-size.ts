// Time by data size (the study's 1-12.6 GB on one laptop, server, HPC CPU node and A100 node, and on
// Lambda): measured here on the sizes one machine gets through in minutes, projected to the study's sizes
// at the measured rate, and modelled for this code on Lambda and on a GPU instance.
import { samplesOfMB } from '../context.js';
import { PLATFORMS, samplesOf } from '../published.js';
import type { StudyPoint, StudyRow } from '../results.js';
import { measureInference } from './measure.js';
import { gpuModel, lambdaModel } from './planner-figures.js';
import { fig, ratioOf, round, type Experiment } from './types.js';

const MACHINES = ['laptop', 'hpcCpu', 'a100'] as const;
const PARTITION_MB = 25;

export const dataSize: Experiment = {
  id: 'data-size',
  title: 'Data size',
  async run(ctx) {
    const s = ctx.sizes;
    const pub = ctx.published;
    const points: StudyPoint[] = [];
    const rows: StudyRow[] = [];
    let rate = 0;
    for (const [i, mb] of s.dataSizesMB.entries()) {
      ctx.step(`${mb} MB`, i, s.dataSizesMB.length);
      const samples = samplesOfMB(mb);
      const ds = await ctx.dataset(samples, samplesOfMB(Math.min(PARTITION_MB, mb)));
      const f = await measureInference({ model: ctx.model, dataset: ds, batchSize: 512, threads: ctx.cores, repeats: 1 });
      rate = f.samplesPerS;
      rows.push({ dataGB: mb / 1000, samples, hereS: round(f.wallS), hereProjectedS: null, hereSamplesPerS: round(f.samplesPerS) });
      points.push({ series: `this machine, ${ctx.cores} cores`, kind: 'measured', x: mb / 1000, y: round(f.wallS) });
    }
    const sizes = [...new Set(pub.dataSize.map((d) => d.dataGB))].sort((a, b) => a - b);
    const partition = samplesOfMB(PARTITION_MB);
    for (const gb of sizes) {
      const samples = samplesOf(pub, gb);
      if (samples === undefined) continue;
      const row: StudyRow = { dataGB: gb, samples, hereS: null, hereProjectedS: round(samples / rate), hereSamplesPerS: null };
      for (const m of MACHINES) row[m] = pub.dataSize.find((d) => d.platform === m && d.dataGB === gb)?.seconds ?? null;
      const lambda = pub.lambdaRuns.find((c) => c.partitionMB === PARTITION_MB && c.dataGB === gb);
      row.lambda = lambda ? round(lambda.wallS) : null;
      row.lambdaModel = round(lambdaModel(ctx.env, samples, partition, lambda?.worldSize).wallS);
      row.gpuModel = round(gpuModel(ctx.env, samples, partition).wallS);
      row.vs_hpcCpu = ratioOf(row.hereProjectedS as number, row.hpcCpu as number | null);
      row.vs_a100 = ratioOf(row.hereProjectedS as number, row.a100 as number | null);
      row.lambdaModel_vs_lambda = ratioOf(row.lambdaModel as number, row.lambda as number | null);
      rows.push(row);
      points.push({ series: 'this machine, projected at its measured rate', kind: 'modelled', x: gb, y: row.hereProjectedS as number });
      points.push({ series: 'this code on Lambda, 25 MB partitions (modelled)', kind: 'modelled', x: gb, y: row.lambdaModel as number });
      points.push({ series: 'this code on one g5.xlarge GPU (modelled)', kind: 'modelled', x: gb, y: row.gpuModel as number });
    }
    for (const m of MACHINES) for (const d of pub.dataSize.filter((x) => x.platform === m)) points.push({ series: `${PLATFORMS[m].name}, Python (published)`, kind: 'published', x: d.dataGB, y: round(d.seconds) });
    for (const c of pub.lambdaRuns.filter((x) => x.partitionMB === PARTITION_MB)) points.push({ series: `${PLATFORMS.lambda.name}, whole run, 25 MB partitions (published)`, kind: 'published', x: c.dataGB, y: round(c.wallS) });
    const full = rows.find((r) => r.dataGB === 12.6);
    return {
      description:
        'Seconds to predict a whole data set in one process on all cores, by data size, beside the original study\u2019s inference time on one machine and its whole state-machine wall time on Lambda (25 MB partitions). This machine measures the sizes it gets through in minutes and is projected to the study\u2019s at its measured rate.',
      x: { title: 'data size (GB)', log: true },
      y: { title: 'seconds', log: true },
      points,
      columns: [
        { key: 'dataGB', title: 'Data (GB)', kind: 'setting' },
        { key: 'samples', title: 'Samples', kind: 'setting' },
        { key: 'hereS', title: 'Here, s', kind: 'measured' },
        { key: 'hereSamplesPerS', title: 'Here, samples/s', kind: 'measured' },
        { key: 'hereProjectedS', title: 'Here, projected s', kind: 'modelled' },
        { key: 'laptop', title: 'Laptop s', kind: 'published' },
        { key: 'hpcCpu', title: 'HPC CPU node s', kind: 'published' },
        { key: 'a100', title: 'A100 node s', kind: 'published' },
        { key: 'lambda', title: 'Lambda whole run s', kind: 'published' },
        { key: 'lambdaModel', title: 'This code on Lambda s (modelled)', kind: 'modelled' },
        { key: 'gpuModel', title: 'This code on g5.xlarge s (modelled)', kind: 'modelled' },
        { key: 'vs_hpcCpu', title: 'Here / HPC CPU', kind: 'ratio' },
        { key: 'vs_a100', title: 'Here / A100', kind: 'ratio' },
        { key: 'lambdaModel_vs_lambda', title: 'Modelled / published Lambda', kind: 'ratio' },
      ],
      rows,
      headline: full
        ? [
            {
              what: '12.6 GB (660,461 samples), one machine',
              here: `${fig(full.hereProjectedS as number)} s projected from ${fig(rate)} samples/s`,
              reference: `HPC CPU node ${fig(full.hpcCpu as number)} s, A100 ${fig(full.a100 as number)} s (published)`,
              ratio: full.vs_hpcCpu as number | null,
              ratioMeaning: 'here / HPC CPU node; below 1 is faster here',
            },
            {
              what: '12.6 GB on Lambda, 25 MB partitions, whole run',
              here: `${fig(full.lambdaModel as number)} s (this code, modelled)`,
              reference: `${fig(full.lambda as number)} s (published)`,
              ratio: full.lambdaModel_vs_lambda as number | null,
              ratioMeaning: 'modelled / published',
            },
          ]
        : [],
      notes: [
        `Measured: one process, ${ctx.cores} threads, batch 512 (the study\u2019s), ${PARTITION_MB} MB partitions (smaller data sets: one partition), sha256 checked on read.`,
        'Projected: the study\u2019s sample counts over the rate measured on the largest data set here; a projection, not a measurement.',
        'Published: platforms_vary_datasize.csv, the authors\u2019 average inference time per machine ("Inference Time"), and aws_total_execution_time.csv, whole state-machine wall time (runs averaged).',
        `Modelled: the planner (cai estimate --platform lambda|gpu) with ${ctx.profile ? 'the profile measured by the batch-size experiment' : 'the built-in profile'}; the GPU rate is the study\u2019s A100 rate scaled by FP32 peak unless a GPU profile is given.`,
      ],
    };
  },
};
