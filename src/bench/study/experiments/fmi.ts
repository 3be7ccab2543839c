// FMI collectives across world sizes 3 to 200: a barrier followed by an 8-byte allreduce, measured here
// over the TCP (and Redis) channel with every rank sharing this machine's cores, beside the channel
// model's figure for one CPU per rank and the original FMI's published AWS Lambda figures.
import { defaultPolicyConfig } from '../../../fmi/policy/config.js';
import { barrierAllreduceComparison } from '../../fmi/output.js';
import { runFmiBench } from '../../fmi/run-bench.js';
import type { StudyPoint, StudyRow } from '../results.js';
import { fig, ratioOf, round, type Experiment } from './types.js';

export const fmi: Experiment = {
  id: 'fmi',
  title: 'FMI barrier + allreduce',
  async run(ctx) {
    const s = ctx.sizes;
    const config = defaultPolicyConfig();
    const points: StudyPoint[] = [];
    const rows: StudyRow[] = [];
    const published = new Map<number, number>();
    for (const [i, channel] of s.fmiChannels.entries()) {
      ctx.step(`${channel} channel`, i, s.fmiChannels.length);
      const result = await runFmiBench({ channel, worldSizes: s.fmiWorldSizes, ops: ['barrier', 'allreduce'], bytes: [8], runs: s.fmiRuns, warmup: 2, maxProcs: Math.max(2, ctx.cores), timeoutMs: 60_000, progress: (t) => ctx.step(`${channel}: ${t}`, i, s.fmiChannels.length) });
      for (const c of barrierAllreduceComparison(result.records, channel, config)) {
        rows.push({ channel, worldSize: c.world_size, processes: result.environment.processes[String(c.world_size)] ?? null, hereMs: c.measured_ms, modelMs: c.model_one_cpu_per_rank_ms, fmiAwsMs: c.fmi_aws_ms, vs_fmiAws: ratioOf(c.measured_ms, c.fmi_aws_ms), vs_model: ratioOf(c.measured_ms, c.model_one_cpu_per_rank_ms) });
        points.push({ series: `${channel} here, ranks sharing ${ctx.cores} cores`, kind: 'measured', x: c.world_size, y: c.measured_ms });
        points.push({ series: `${channel} model, one CPU per rank (modelled)`, kind: 'modelled', x: c.world_size, y: round(c.model_one_cpu_per_rank_ms) });
        if (c.fmi_aws_ms !== null) published.set(c.world_size, c.fmi_aws_ms);
      }
    }
    for (const [n, ms] of published) points.push({ series: 'original FMI on AWS Lambda (published)', kind: 'published', x: n, y: ms });
    const withRef = rows.filter((r) => r.channel === 'tcp' && r.fmiAwsMs !== null);
    const top = withRef[withRef.length - 1];
    return {
      description:
        'Median latency of a barrier followed by an 8-byte allreduce, by world size, with every rank a process (or a block of ranks in one) on this machine, beside the channel model for one CPU per rank and the original C++/Python FMI on AWS Lambda, every rank on its own function.',
      x: { title: 'world size (ranks)', log: true },
      y: { title: 'milliseconds, barrier + allreduce', log: true },
      points,
      columns: [
        { key: 'channel', title: 'Channel', kind: 'setting' },
        { key: 'worldSize', title: 'Ranks', kind: 'setting' },
        { key: 'processes', title: 'Processes', kind: 'setting' },
        { key: 'hereMs', title: 'Here ms', kind: 'measured' },
        { key: 'modelMs', title: 'Model ms, one CPU per rank', kind: 'modelled' },
        { key: 'fmiAwsMs', title: 'FMI on AWS ms', kind: 'published' },
        { key: 'vs_fmiAws', title: 'Here / FMI on AWS', kind: 'ratio' },
        { key: 'vs_model', title: 'Here / model', kind: 'ratio' },
      ],
      rows,
      headline: top
        ? [
            {
              what: `barrier + 8-byte allreduce, ${top.worldSize} ranks, TCP`,
              here: `${fig(top.hereMs as number)} ms`,
              reference: `${fig(top.fmiAwsMs as number)} ms, original FMI on AWS (published)`,
              ratio: top.vs_fmiAws as number | null,
              ratioMeaning: 'here / FMI on AWS; below 1 is faster here',
            },
          ]
        : [],
      notes: [
        `Measured: cai fmi bench (runFmiBench: ${s.fmiRuns} timed runs after 2 warm-up runs, at most ${Math.max(2, ctx.cores)} worker processes, larger worlds hosting blocks of ranks per process), the sum of the two medians.`,
        'Modelled: the channel policy\u2019s latency model (cai fmi explain) with one CPU per rank and its built-in AWS figures.',
        'Published: FMI (ACM ICS 2023), the two ends of its barrier-then-allreduce range on AWS Lambda (3 and 200 ranks); not part of reference/cai.',
      ],
    };
  },
};
