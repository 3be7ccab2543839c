// The workflow benchmarks of `cai bench`: W=1 against W=2 on the same data, and the "no data" fan-out.
import type { Command } from 'commander';
import { action, emit, parseIntOption } from '../output.js';

interface WorkflowBenchFlags {
  samples: number;
  partitions: number;
  batchSize: number;
  keep?: boolean;
  json?: boolean;
}

interface NoDataFlags {
  ranks: string;
  json?: boolean;
}

/** Adds the workflow benchmarks to the `bench` group. */
export function registerWorkflowBench(bench: Command): void {
  bench
    .command('workflow')
    .description('W=1 vs W=2 wall time on the same data (one thread per instance), and run time vs pure model time')
    .option('--samples <n>', 'synthetic samples to run', parseIntOption('samples'), 3072)
    .option('--partitions <n>', 'partitions they are cut into', parseIntOption('partitions'), 8)
    .option('--batch-size <n>', 'samples per model call', parseIntOption('batch-size'), 256)
    .option('--keep', 'keep the temporary data and results and print where they are')
    .option('--json', 'print the figures as JSON')
    .addHelpText(
      'after',
      `
Targets: speedup W=1 -> W=2 of at least 1.7 on two cores; orchestration, I/O and summarizing at most 15%
of the run's wall time (model time measured in this process on the same samples is the baseline); each
instance's cold start at most 0.3 s, shown in its parts (process, code, session host, model read, session
creation) with the optimized-model cache's outcome and what the invocation waited for. The session's open
is also timed in this process without the cache and through it (summary.json performance.coldStarts).

Example:
  cai bench workflow --samples 4096 --partitions 8`,
    )
    .action(
      action(async (flags: WorkflowBenchFlags) => {
        const { benchWorkflow, formatWorkflowBench } = await import('../../bench/workflow.js');
        const r = await benchWorkflow({ samples: flags.samples, partitions: flags.partitions, batchSize: flags.batchSize, keep: flags.keep, log: flags.json ? undefined : (l) => process.stderr.write(l + '\n') });
        emit(flags, r, () => formatWorkflowBench(r) + (r.dir ? `\n  data and results kept in ${r.dir}` : ''));
      }),
    );

  bench
    .command('no-data')
    .description('the "no data" experiment: the state machine fans out ranks that do no inference, cold then warm')
    .option('--ranks <list>', 'comma-separated fan-outs', '2,4,16')
    .option('--json', 'print the figures as JSON')
    .addHelpText(
      'after',
      `
Each fan-out N runs with N worker processes at once: first all cold (processes start), then warm.

Example:
  cai bench no-data --ranks 2,4,16,32`,
    )
    .action(
      action(async (flags: NoDataFlags) => {
        const { benchNoData, formatNoDataBench, parseFanOuts } = await import('../../bench/workflow-no-data.js');
        const rows = await benchNoData({ fanOuts: parseFanOuts(flags.ranks), log: flags.json ? undefined : (l) => process.stderr.write(l + '\n') });
        emit(flags, { fanOuts: rows }, () => formatNoDataBench(rows));
      }),
    );
}
