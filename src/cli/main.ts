#!/usr/bin/env node
// The `cai` command: a thin layer that parses flags and calls the library.
import { Command, CommanderError } from 'commander';
import { register as registerData } from './commands/data.js';
import { register as registerModel } from './commands/model.js';
import { register as registerInfer } from './commands/infer.js';
import { register as registerRun } from './commands/run.js';
import { register as registerFmi } from './commands/fmi.js';
import { register as registerBench } from './commands/bench.js';
import { register as registerReport } from './commands/report.js';
import { ExitCode } from '../errors.js';

const program = new Command();
program
  .name('cai')
  .description('Cloud Astronomy Inference: AstroMAE redshift inference over SDSS image partitions')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerData(program);
registerModel(program);
registerInfer(program);
registerRun(program);
registerFmi(program);
registerBench(program);
registerReport(program);
(await import('./commands/aws.js')).register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; everything else commander rejects is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : ExitCode.usage;
  } else {
    throw err;
  }
}
