#!/usr/bin/env node
// The `cai` command: a thin layer that parses flags and calls the library. Each command group is one file
// of commands/; flags shared between commands live in flags/, human output in render/, and every check of
// a value lives in the library, so a command file reads as: options, one library call, emit.
import { Command, CommanderError } from 'commander';
import { register as registerData } from './commands/data.js';
import { registerSynthBench } from './commands/bench-synth.js';
import { register as registerModel } from './commands/model.js';
import { registerModelQuantize } from './commands/model-quantize.js';
import { register as registerInfer } from './commands/infer.js';
import { register as registerRun } from './commands/run.js';
import { register as registerFmi } from './commands/fmi.js';
import { register as registerBench } from './commands/bench.js';
import { register as registerReport } from './commands/report.js';
import { register as registerAws } from './commands/aws.js';
import { register as registerEstimate } from './commands/estimate.js';
import { register as registerPlan } from './commands/plan.js';
import { register as registerCalibrate } from './commands/calibrate.js';
import { ExitCode } from '../errors.js';

// The SDK warns on every Node 20 process about its future support window; the project pins its SDK
// versions and supports Node 20, so the notice is noise on every command's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `cai ... | head` closes stdout early: end quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const program = new Command();
program
  .name('cai')
  .description('Cloud Astronomy Inference: AstroMAE redshift inference over SDSS image partitions')
  .version('0.1.0')
  // Usage errors stay one line; the full help is one --help away.
  .configureOutput({ outputError: (text, write) => write(`cai: ${text.replace(/^error: /, '').trim()} (see --help)\n`) })
  .exitOverride();

// The generator's benchmark is offered where the generator is, too.
registerSynthBench(registerData(program), 'synth-bench');
registerModelQuantize(registerModel(program));
registerInfer(program);
registerRun(program);
registerFmi(program);
registerBench(program);
registerReport(program);
registerAws(program);
registerEstimate(program);
registerPlan(program);
registerCalibrate(program);

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
