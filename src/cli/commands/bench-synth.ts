// The synthetic generator's speed benchmark as a command. It is offered twice, as `cai bench synth` and
// `cai data synth-bench`, so it is registered under whichever group it is given.
import type { Command } from 'commander';
import type { SynthBenchResult } from '../../bench/synth-bench.js';
import { Progress, action, emit } from '../output.js';
import { positiveInt } from '../parse.js';

interface SynthBenchFlags {
  samples: number;
  repeats: number;
  json?: boolean;
}

export function registerSynthBench(parent: Command, name: string): void {
  parent
    .command(name)
    .description('speed of the synthetic generator (galaxies per CPU second), against catalogue-only and noise-only baselines')
    .option('--samples <n>', 'galaxies per measurement', positiveInt, 20_000)
    .option('--repeats <n>', 'repeat each measurement; the best run counts', positiveInt, 3)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `\nExample:\n  cai ${parent.name()} ${name} --samples 20000 --json`)
    .action(
      action(async (flags: SynthBenchFlags) => {
        const { formatSynthBench, runSynthBench } = await import('../../bench/synth-bench.js');
        const progress = new Progress(flags);
        let r: SynthBenchResult;
        try {
          r = runSynthBench({ samples: flags.samples, repeats: flags.repeats, onStep: (s) => progress.update(s, true) });
        } finally {
          progress.done();
        }
        emit(flags, r, () => formatSynthBench(r));
      }),
    );
}
