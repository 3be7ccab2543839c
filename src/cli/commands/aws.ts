// `cai aws synth|deploy|run`: the stack offline, the commands that deploy it, and a run on the deployed
// state machine. The stack flags are cli/flags/stack-flags.ts, the run flags are shared with `cai run`
// (cli/flags/run-flags.ts); reading the template and composing the deploy commands are the library's
// (src/cloud/aws/).
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { addRunOptions, runRequestFields, type RunRequestFlags } from '../flags/run-flags.js';
import { addStackOptions, stackOptions, type StackFlags } from '../flags/stack-flags.js';
import { action, emit, note, parseIntOption } from '../output.js';
import { renderDeployCommands, renderStartExecution, renderSynth } from '../render/aws.js';
import { finishRun } from '../finish-run.js';
import { startAndFollow } from '../follow-execution.js';

interface SynthFlags extends StackFlags {
  out: string;
}

interface AwsRunFlags extends RunRequestFlags {
  stateMachineArn?: string;
  worldSize: number;
  wait: boolean;
  pollS: number;
  waitTimeoutS?: number;
  dryRun?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const aws = program.command('aws').description('deploy to AWS Lambda + Step Functions (CDK) and run there');
  registerSynth(aws);
  registerDeploy(aws);
  registerRun(aws);
}

function registerSynth(aws: Command): void {
  addStackOptions(
    aws
      .command('synth')
      .description('synthesize the CloudFormation template offline (no AWS account, no Docker)')
      .option('--out <dir>', 'cloud assembly directory', 'cdk.out'),
  )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The stack: an S3 bucket (data, models, results), one container image (deploy/aws/Dockerfile) serving three
Lambda functions (Initialize, rank, Summarize), and the Step Functions state machine built by the same
definition generator as the local run (Distributed Map over ranks), with the functions' ARNs substituted.
Synthesizing fingerprints the image's sources; Docker is only needed by "cdk deploy".

Examples:
  cai aws synth
  cai aws synth --out /tmp/cdk.out --memory-mb 3008 --json

Exit codes: 2 bad flags (a size outside Lambda's limits).`,
    )
    .action(
      action(async (flags: SynthFlags) => {
        const { synthesize } = await import('../../cloud/aws/synth.js');
        const { summarizeSynth } = await import('../../cloud/aws/synth-summary.js');
        const { summary, flow } = summarizeSynth(synthesize({ ...stackOptions(flags), outDir: flags.out }));
        emit(flags, summary, () => renderSynth(summary, flow));
      }),
    );
}

function registerDeploy(aws: Command): void {
  addStackOptions(aws.command('deploy').description('print the exact commands that deploy the stack (it does not run them)'))
    .option('--json', 'print the commands as JSON')
    .addHelpText(
      'after',
      `
Deploying needs an AWS account (credentials in the environment or a profile), Docker (the image is built
and pushed by cdk), and a one-time "cdk bootstrap" per account and region. The printed deploy command
passes the sizes as CDK context (-c cai:memoryMb=...), so the deployed stack matches "cai aws synth".

Examples:
  cai aws deploy
  cai aws deploy --memory-mb 3008 --stack-name CaiSmall --json`,
    )
    .action(
      action(async (flags: StackFlags) => {
        const { deployCommands } = await import('../../cloud/aws/deploy-commands.js');
        const commands = deployCommands(stackOptions(flags));
        emit(flags, commands, () => renderDeployCommands(commands));
      }),
    );
}

function registerRun(aws: Command): void {
  const run = aws
    .command('run')
    .description('start a run on the deployed state machine and follow it to the summary')
    .option('--state-machine-arn <arn>', 'the stack output StateMachineArn (default: $CAI_STATE_MACHINE_ARN)', process.env.CAI_STATE_MACHINE_ARN);
  addRunOptions(run, 'lambda', ['data', 'worldSize', 'concurrency', 'model', 'out', 'batchSize', 'threads', 'memoryMb', 'timeoutS', 'runId', 'toleratedFailurePercent', 'readAhead', 'report'])
    .option('--no-wait', 'start the execution, print its ARN and return')
    .option('--poll-s <s>', 'seconds between status checks', parseIntOption('poll-s'), 5)
    .option('--wait-timeout-s <s>', 'stop waiting after this long (the execution goes on)', parseIntOption('wait-timeout-s'))
    .option('--dry-run', 'print the StartExecution request and exit (no AWS call)')
    .option('--json', 'print summary.json (or the request, or the execution) as JSON')
    .addHelpText(
      'after',
      `
Examples:
  cai aws run --state-machine-arn arn:aws:states:us-east-1:123456789012:stateMachine:Cai-run \\
      --data s3://my-bucket/sdss/manifest.json --world-size 64 --concurrency 64
  cai aws run --data s3://my-bucket/sdss --world-size 8 --model s3://my-bucket/models/astromae.onnx --json
  cai aws run --data s3://my-bucket/sdss --world-size 8 --dry-run --json

Credentials and region come from the AWS SDK's usual chain; the client uses the state machine's region.
Results: <out>/results/<run-id>/ as with "cai run" (plan.json, rank-NNNNN.json, predictions.csv,
summary.json, report/).

Throttled AWS calls (StartExecution, DescribeExecution, S3) back off with jitter and are retried (6
attempts; AWS_MAX_ATTEMPTS and AWS_RETRY_MODE change that). SIGINT or SIGTERM stops waiting (exit 130/143);
the execution goes on on AWS.

Exit codes: 0 complete, 5 some ranks failed, 3 the accounting failed (e.g. duplicate object ids), 2 bad
flags or an unknown state machine, 6 the execution timed out (or --wait-timeout-s passed), 7 AWS unreachable
or still throttling after the retries, 1 the execution failed, 130/143 stopped waiting.`,
    )
    .action(
      action(async (flags: AwsRunFlags) => {
        if (!flags.stateMachineArn) throw new UsageError('--state-machine-arn is required (or set $CAI_STATE_MACHINE_ARN); "cai aws deploy" prints how to create one');
        const { makeExecutionRequest } = await import('../../compute/lambda/execution-input.js');
        const req = makeExecutionRequest(flags.stateMachineArn, {
          ...runRequestFields(flags),
          data: flags.data,
          worldSize: flags.worldSize,
          ...(flags.out !== undefined ? { out: flags.out } : {}),
          ...(flags.model !== undefined ? { model: flags.model } : {}),
        });
        const { startExecutionInput } = await import('../../compute/lambda/engine.js');
        if (flags.dryRun) {
          const sent = startExecutionInput(req);
          emit(flags, { ...sent, input: req.input }, () => renderStartExecution(sent));
          return;
        }
        const summary = await startAndFollow(req, flags, (executionArn) => {
          note(flags, `cai aws run: run ${req.input.run.runId}, execution ${executionArn}`);
          if (flags.wait) return true;
          emit(flags, { executionArn, name: req.name, runId: req.input.run.runId, results: req.input.run.results.uri }, () => executionArn);
          return false;
        });
        if (!summary) return;
        finishRun(flags, summary);
      }),
    );
}
