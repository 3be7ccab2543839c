// `cai bench planner`: calibrate here, then `cai plan` against the measured `cai run --auto` on two data sizes.
import type { Command } from 'commander';
import { action, emit } from '../output.js';

interface PlannerBenchFlags {
  sizes: string;
  quick?: boolean;
  profile?: string;
  keep?: boolean;
  json?: boolean;
}

export function registerPlannerBench(bench: Command): void {
  bench
    .command('planner')
    .description("cai plan's predicted wall time of a local run against the measured cai run --auto, after calibrating (target: within 20%)")
    .option('--sizes <list>', 'comma-separated data set sizes in synthetic galaxies', '2000,12000')
    .option('--quick', 'calibrate with --quick')
    .option('--profile <file>', 'use this profile instead of calibrating')
    .option('--keep', 'keep the temporary profile, data and results and print where they are')
    .option('--json', 'print the figures as JSON')
    .addHelpText(
      'after',
      `
Each size runs as a user runs it: "cai plan --json --platforms local" for the pick, then "cai run --auto"
on the same data set and profile; the prediction the run recorded in summary.json is compared with its
measured wall time. Calibration and runs should see the same load: the load average is printed with each.

Example:
  cai bench planner --sizes 2000,12000`,
    )
    .action(
      action(async (flags: PlannerBenchFlags) => {
        const { benchPlanner, formatPlannerBench } = await import('../../bench/planner-bench.js');
        const sizes = flags.sizes.split(',').map((x) => Number(x.trim()));
        const r = await benchPlanner({ sizes, quick: flags.quick, profile: flags.profile, keep: flags.keep, cli: [...process.execArgv, process.argv[1]!], log: flags.json ? undefined : (l) => process.stderr.write(l + '\n') });
        emit(flags, r, () => formatPlannerBench(r) + (r.dir ? `\n  profile, data and results kept in ${r.dir}` : ''));
      }),
    );
}
