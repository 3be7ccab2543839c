// `cai bench study`: the original study's experiments on this machine, one page with CSV/JSON beside it.
import type { Command } from 'commander';
import { CaiError, ExitCode, UsageError } from '../../errors.js';
import { Progress, action, emit, note } from '../output.js';

interface StudyFlags {
  out: string;
  quick?: boolean;
  only?: string;
  model?: string;
  json?: boolean;
}

export function registerStudyBench(bench: Command, experimentIds: readonly string[]): void {
  bench
    .command('study')
    .description("reproduce the original study's experiments on this machine (AWS and GPU modelled, and labelled so) beside its published figures; writes study.html with CSV/JSON")
    .requiredOption('--out <dir>', 'where study.html, study.json, headline.md and each experiment\u2019s CSV, SVG and PNG go')
    .option('--quick', 'smaller sizes of every experiment: under 5 minutes on 2 quiet cores')
    .option('--only <ids>', `comma-separated experiments to run (${experimentIds.join(', ')})`)
    .option('--model <file.onnx>', 'ONNX model (default: the built-in calibrated AstroMAE model)')
    .option('--json', 'print study.json instead of the headline table')
    .addHelpText(
      'after',
      `
Experiments: no-data fan-out over 2, 4 and 16 ranks; FMI barrier + allreduce over 3 to 200 ranks;
inference by batch size (32-512), data size, world size and partition size (25-100 MB). Each plot sits
beside the published figures of reference/cai (laptop, HPC CPU node, A100 node, Lambda) with the ratio.
What cannot run here (AWS Lambda, a GPU) is modelled by the planner from what was measured here.

The full study is about five times the work of --quick; it is a benchmark, not a test. On a machine
others are using, the page says so (load average above the cores).

Examples:
  cai bench study --out study --quick
  cai bench study --out study --only batch-size,fmi --json

Exit codes: 2 bad flags; otherwise that of the first experiment that failed (the others' figures are written).`,
    )
    .action(
      action(async (flags: StudyFlags) => {
        const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean);
        if (only && only.length === 0) throw new UsageError('--only names no experiment');
        const { runStudy } = await import('../../bench/study/index.js');
        const { headlineMarkdown } = await import('../../bench/study/results.js');
        const progress = new Progress(flags);
        let out;
        try {
          out = await runStudy({ out: flags.out, quick: flags.quick, only, model: flags.model, onStep: (label, done, total) => progress.count(label, done, total), log: (line) => (progress.done(), note(flags, line)) });
        } finally {
          progress.done();
        }
        const { results, files } = out;
        emit(flags, results, () => `${headlineMarkdown(results)}\n${results.machine.shared ? `(a shared machine: load average ${results.machine.loadBefore[0]} -> ${results.machine.loadAfter[0]} on ${results.machine.cores} cores)\n` : ''}page: ${files.html}\ndata: ${files.json}, ${files.csv.length} CSV files`);
        const failed = results.failures[0];
        if (failed) throw new CaiError(`${results.failures.length} experiment(s) did not finish; first: ${failed.id}: ${failed.error}`, (failed.exitCode || ExitCode.internal) as ExitCode);
      }),
    );
}
