// Throughput by batch size (the study's 32-512 on a laptop, a server, an HPC CPU node, an A100 node and
// Lambda), measured here end to end on all cores; the planner's Lambda figure from this measurement.
// Its measurements become this machine's planner profile, which the later experiments model AWS with.
import { LAMBDA_LIMITS } from '../../../cost/index.js';
import { lambdaVcpus } from '../../../planner/platforms/lambda.js';
import { DEFAULT_PROFILE, DEFAULT_SERIAL_FRACTION, perSampleSeconds, profileSchema, type Profile } from '../../../planner/profile.js';
import { machineFacts, type StudyContext } from '../context.js';
import { PLATFORMS } from '../published.js';
import type { StudyPoint, StudyRow } from '../results.js';
import { measureInference } from './measure.js';
import { fig, ratioOf, round, type Experiment } from './types.js';

const MACHINES = ['laptop', 'hpcCpu', 'a100'] as const;

export const batchSize: Experiment = {
  id: 'batch-size',
  title: 'Batch size',
  async run(ctx) {
    const s = ctx.sizes;
    const ds = await ctx.dataset(s.batchSamples, Math.min(s.batchSamples, 1024));
    const here = new Map<number, number>();
    for (const [i, b] of s.batchSizes.entries()) {
      ctx.step(`batch ${b}`, i, s.batchSizes.length);
      here.set(b, (await measureInference({ model: ctx.model, dataset: ds, batchSize: b, threads: ctx.cores, repeats: s.repeats })).samplesPerS);
    }
    ctx.profile = measuredProfile(ctx, here);
    ctx.env = { ...ctx.env, cpuProfile: ctx.profile };
    const pub = ctx.published;
    const lambdaMB = LAMBDA_LIMITS.memoryMaxMB;
    const points: StudyPoint[] = [];
    const rows: StudyRow[] = [];
    for (const b of s.batchSizes) {
      const row: StudyRow = { batchSize: b, here: round(here.get(b)!) };
      for (const m of MACHINES) row[m] = numOrNull(pub.batchSize.find((p) => p.platform === m && p.batchSize === b)?.samplesPerS);
      row.lambda = numOrNull(pub.lambdaBatch.find((p) => p.batchSize === b)?.samplesPerS);
      row.lambdaModel = round(1 / perSampleSeconds(ctx.profile, lambdaVcpus(lambdaMB), b));
      for (const m of [...MACHINES, 'lambda'] as const) row[`vs_${m}`] = ratioOf(row.here as number, row[m] as number | null);
      rows.push(row);
      points.push({ series: `this machine, ${ctx.cores} cores`, kind: 'measured', x: b, y: row.here as number });
      points.push({ series: 'this code on one Lambda function (modelled)', kind: 'modelled', x: b, y: row.lambdaModel as number });
    }
    for (const m of MACHINES) for (const p of pub.batchSize.filter((q) => q.platform === m)) points.push({ series: `${PLATFORMS[m].name}, Python (published)`, kind: 'published', x: p.batchSize, y: round(p.samplesPerS) });
    for (const p of pub.lambdaBatch) points.push({ series: `${PLATFORMS.lambda.name}, one function, Python (published)`, kind: 'published', x: p.batchSize, y: round(p.samplesPerS) });
    const best = [...here].reduce((a, b) => (b[1] > a[1] ? b : a));
    const hpc = pub.batchSize.find((p) => p.platform === 'hpcCpu' && p.batchSize === best[0]);
    const a100 = pub.batchSize.find((p) => p.platform === 'a100' && p.batchSize === best[0]);
    return {
      description:
        'Samples per second of model input predicted end to end (read, verify, decode, batches, model) on all of this machine\u2019s cores, by batch size, beside the original study\u2019s PyTorch figures for 1 GB on whole machines and one Lambda function.',
      x: { title: 'batch size', log: true },
      y: { title: 'samples per second', log: true },
      points,
      columns: [
        { key: 'batchSize', title: 'Batch size', kind: 'setting' },
        { key: 'here', title: 'Here, samples/s', kind: 'measured' },
        { key: 'laptop', title: 'Laptop', kind: 'published' },
        { key: 'hpcCpu', title: 'HPC CPU node', kind: 'published' },
        { key: 'a100', title: 'A100 node', kind: 'published' },
        { key: 'lambda', title: 'Lambda, one function', kind: 'published' },
        { key: 'lambdaModel', title: 'This code on Lambda (modelled)', kind: 'modelled' },
        { key: 'vs_hpcCpu', title: 'Here / HPC CPU', kind: 'ratio' },
        { key: 'vs_a100', title: 'Here / A100', kind: 'ratio' },
        { key: 'vs_lambda', title: 'Here / Lambda function', kind: 'ratio' },
      ],
      rows,
      headline: [
        {
          what: `samples/s at batch ${best[0]}, this machine\u2019s best`,
          here: `${fig(best[1])} /s on ${ctx.cores} cores`,
          reference: hpc ? `HPC CPU node ${fig(hpc.samplesPerS)} /s${a100 ? `, A100 ${fig(a100.samplesPerS)} /s` : ''} (published)` : '-',
          ratio: ratioOf(best[1], hpc?.samplesPerS),
          ratioMeaning: 'here / HPC CPU node; above 1 is faster here',
        },
      ],
      notes: [
        `Measured: one process, ${ctx.cores} threads, ${s.batchSamples.toLocaleString('en-US')} samples per measurement, best of ${s.repeats}, after a warm-up batch.`,
        'Published: platforms_vary_batchsize.csv (bits/s of model input, runs averaged, / 164,000 bits per sample) and aws_batch_size_stats.csv (one invocation\u2019s inference time; its 1,279 samples are the 1 GB data set over 41 invocations).',
        `Modelled: the planner\u2019s Lambda rate at ${lambdaMB.toLocaleString('en-US')} MB (${lambdaVcpus(lambdaMB).toFixed(2)} vCPUs) from this machine\u2019s measured rate, assuming a Lambda vCPU runs like one of these cores (Amdahl fit, serial share ${Math.round(DEFAULT_SERIAL_FRACTION * 100)}% when one thread count is measured).`,
      ],
    };
  },
};

function numOrNull(x: number | undefined): number | null {
  return x === undefined ? null : round(x);
}

/** This machine's measured rates as a planner profile; start-up and read figures stay the built-in ones. */
function measuredProfile(ctx: StudyContext, rates: Map<number, number>): Profile {
  const m = machineFacts([0, 0, 0]);
  return profileSchema.parse({
    ...DEFAULT_PROFILE,
    label: `measured by cai bench study on this machine (${ctx.cores} cores; batch-size experiment; start-up and read figures built in)`,
    isDefault: false,
    measuredAt: new Date().toISOString().slice(0, 10),
    source: 'cai bench study, batch-size experiment',
    machine: { cpuModel: m.cpuModel, cores: m.cores, memoryGB: m.memoryGB, loadAverage: m.loadAfter[0] },
    throughput: [...rates].map(([batchSize, samplesPerS]) => ({ threads: ctx.cores, batchSize, samplesPerS })),
  });
}
