// The study's "no data" experiment: the state machine fans out ranks that do no inference, which times
// orchestration alone. Measured here cold (every instance starts) and warm (the instances are reused),
// beside the planner's model of the same fan-out on Lambda + Step Functions.
import { benchNoData } from '../../workflow-no-data.js';
import type { StudyPoint, StudyRow } from '../results.js';
import { lambdaNoDataS } from './planner-figures.js';
import { fig, ratioOf, round, type Experiment } from './types.js';

export const noData: Experiment = {
  id: 'no-data',
  title: 'No-data fan-out',
  async run(ctx) {
    const ranks = ctx.sizes.noDataRanks;
    let done = 0;
    ctx.step('fan-outs', 0, ranks.length);
    const figures = await benchNoData({ fanOuts: ranks, log: () => ctx.step('fan-outs', ++done, ranks.length) });
    const points: StudyPoint[] = [];
    const rows: StudyRow[] = figures.map((f) => {
      const lambda = lambdaNoDataS(f.ranks);
      points.push({ series: 'this machine, cold instances', kind: 'measured', x: f.ranks, y: round(f.coldWallS) }, { series: 'this machine, warm instances', kind: 'measured', x: f.ranks, y: round(f.warmWallS) }, { series: 'Lambda + Step Functions (modelled)', kind: 'modelled', x: f.ranks, y: round(lambda) });
      return {
        ranks: f.ranks,
        coldWallS: round(f.coldWallS),
        coldMapS: round(f.coldMapS),
        warmWallS: round(f.warmWallS),
        warmMapS: round(f.warmMapS),
        warmInvocationMs: round(f.warmInvocationMs, 3),
        stateTransitions: f.stateTransitions,
        lambdaModelS: round(lambda),
        cold_vs_lambda: ratioOf(f.coldWallS, lambda),
      };
    });
    const top = rows[rows.length - 1];
    return {
      description: 'Wall time from submit to summary.json of a run whose ranks do no inference: the orchestration alone (Initialize, starting the ranks, the Map, Summarize), by the number of ranks.',
      x: { title: 'ranks', log: true },
      y: { title: 'seconds, submit to summary', log: true },
      points,
      columns: [
        { key: 'ranks', title: 'Ranks', kind: 'setting' },
        { key: 'coldWallS', title: 'Cold wall s', kind: 'measured' },
        { key: 'coldMapS', title: 'Cold Map s', kind: 'measured' },
        { key: 'warmWallS', title: 'Warm wall s', kind: 'measured' },
        { key: 'warmMapS', title: 'Warm Map s', kind: 'measured' },
        { key: 'warmInvocationMs', title: 'Warm invocation ms', kind: 'measured' },
        { key: 'stateTransitions', title: 'State transitions', kind: 'measured' },
        { key: 'lambdaModelS', title: 'Lambda + Step Functions s (modelled)', kind: 'modelled' },
        { key: 'cold_vs_lambda', title: 'Here cold / Lambda', kind: 'ratio' },
      ],
      rows,
      headline: top
        ? [
            {
              what: `${top.ranks} ranks doing no inference, submit to summary`,
              here: `${fig(top.coldWallS as number)} s cold, ${fig(top.warmWallS as number)} s warm`,
              reference: `${fig(top.lambdaModelS as number)} s on Lambda + Step Functions (modelled)`,
              ratio: top.cold_vs_lambda as number | null,
              ratioMeaning: 'here cold / Lambda; below 1 is faster here',
            },
          ]
        : [],
      notes: [
        'Measured: cai bench no-data (the embedded state machine over local worker processes, one process per rank, every rank at once), cold then warm on the same pool.',
        'Modelled: the Lambda run model\u2019s fixed orchestration (fitted on the study\u2019s 84 published runs) plus one cold start (the study\u2019s published 661 ms) and the result reads; the study published no figures of its own for this experiment.',
      ],
    };
  },
};
