import type { Command } from 'commander';
import { CaiError, ExitCode, UsageError } from '../../errors.js';
import { DEFAULT_LAMBDA_CONFIG } from '../../compute/lambda/config.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_TOLERATED_FAILURE_PERCENTAGE } from '../../workflow/run-config.js';
import { Progress, action, emit, parseIntOption } from '../output.js';

interface SizingFlags {
  memoryMb: number;
  timeoutS: number;
  ephemeralMb: number;
  controlMemoryMb: number;
  stackName: string;
  readBucket?: string[];
  destroyBucket?: boolean;
  nodeImage?: string;
  json?: boolean;
}

interface SynthFlags extends SizingFlags {
  out: string;
}

interface AwsRunFlags {
  stateMachineArn?: string;
  data: string;
  model?: string;
  out?: string;
  worldSize: number;
  concurrency?: number;
  batchSize: number;
  threads?: number;
  memoryMb: number;
  timeoutS: number;
  runId?: string;
  toleratedFailurePercent: number;
  readAhead: number;
  report: boolean;
  wait: boolean;
  pollS: number;
  waitTimeoutS?: number;
  dryRun?: boolean;
  json?: boolean;
}

export const CDK_APP = 'node dist/cloud/aws/app.js';

export function register(program: Command): void {
  const aws = program.command('aws').description('deploy to AWS Lambda + Step Functions (CDK) and run there');
  registerSynth(aws);
  registerDeploy(aws);
  registerRun(aws);
}

function sizingOptions(c: Command): Command {
  return c
    .option('--memory-mb <M>', 'memory of the rank function, MB (128-10240; the study used 10240)', parseIntOption('memory-mb'), DEFAULT_LAMBDA_CONFIG.rankMemoryMb)
    .option('--timeout-s <S>', 'timeout of a rank invocation, seconds (1-900)', parseIntOption('timeout-s'), DEFAULT_LAMBDA_CONFIG.rankTimeoutS)
    .option('--ephemeral-mb <E>', '/tmp of the rank function, MB (512-10240)', parseIntOption('ephemeral-mb'), DEFAULT_LAMBDA_CONFIG.ephemeralStorageMb)
    .option('--control-memory-mb <M>', 'memory of the Initialize and Summarize functions, MB', parseIntOption('control-memory-mb'), DEFAULT_LAMBDA_CONFIG.controlMemoryMb)
    .option('--stack-name <name>', 'CloudFormation stack name (the state machine is <name>-run)', 'Cai')
    .option('--read-bucket <bucket...>', 'other buckets the functions may read data or models from')
    .option('--destroy-bucket', 'delete the bucket and its objects with the stack (default: keep it)')
    .option('--node-image <image>', 'base image of the function image (default: public.ecr.aws/lambda/nodejs:20)');
}

function stackOptions(f: SizingFlags): import('../../cloud/aws/options.js').StackOptions {
  return {
    stackName: f.stackName,
    rankMemoryMb: f.memoryMb,
    rankTimeoutS: f.timeoutS,
    ephemeralStorageMb: f.ephemeralMb,
    controlMemoryMb: f.controlMemoryMb,
    retainBucket: !f.destroyBucket,
    ...(f.readBucket?.length ? { readBuckets: f.readBucket } : {}),
    ...(f.nodeImage ? { nodeImage: f.nodeImage } : {}),
  };
}

function registerSynth(aws: Command): void {
  sizingOptions(
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
        const { STATE } = await import('../../workflow/definition.js');
        const r = synthesize({ ...stackOptions(flags), outDir: flags.out });
        const types: Record<string, number> = {};
        for (const res of Object.values(r.template.Resources)) types[res.Type] = (types[res.Type] ?? 0) + 1;
        const sm = Object.values(r.template.Resources).find((x) => x.Type === 'AWS::StepFunctions::StateMachine')!;
        const def = JSON.parse(String(sm.Properties!.DefinitionString)) as { States: Record<string, { ItemProcessor?: { States: Record<string, unknown> } }> };
        const inner = Object.keys(def.States[STATE.ranks]?.ItemProcessor?.States ?? {});
        const states = [...Object.keys(def.States), ...inner];
        const flow = Object.keys(def.States).map((n) => (n === STATE.ranks ? `${n} [${inner.join(' | ')}]` : n)).join(' -> ');
        const result = {
          outDir: r.outDir,
          stackName: r.stackName,
          templateFile: r.templateFile,
          imageHash: r.imageHash,
          stateMachineName: String(sm.Properties!.StateMachineName),
          states,
          rankFunction: { memoryMb: r.stack.config.rankMemoryMb, timeoutS: r.stack.config.rankTimeoutS, ephemeralMb: r.stack.config.ephemeralStorageMb },
          controlFunctions: { memoryMb: r.stack.config.controlMemoryMb, timeoutS: r.stack.config.controlTimeoutS },
          resources: types,
        };
        emit(flags, result, () =>
          [
            `synthesized stack ${result.stackName} into ${result.outDir}`,
            `template: ${result.templateFile}`,
            `state machine ${result.stateMachineName}: ${flow}`,
            `rank function: ${result.rankFunction.memoryMb} MB, ${result.rankFunction.timeoutS} s, /tmp ${result.rankFunction.ephemeralMb} MB; Initialize/Summarize: ${result.controlFunctions.memoryMb} MB`,
            `image: deploy/aws/Dockerfile, fingerprint ${result.imageHash.slice(0, 12)} (built by cdk deploy)`,
            `resources: ${Object.entries(types).map(([t, n]) => `${n} ${t}`).join(', ')}`,
          ].join('\n'),
        );
      }),
    );
}

/** The commands that deploy the stack with these sizes (printed, never run: deploying needs your AWS account). */
export function deployCommands(f: SizingFlags): { build: string; bootstrap: string; deploy: string; destroy: string } {
  const ctx = [
    `-c cai:stackName=${f.stackName}`,
    `-c cai:memoryMb=${f.memoryMb}`,
    `-c cai:timeoutS=${f.timeoutS}`,
    `-c cai:ephemeralMb=${f.ephemeralMb}`,
    `-c cai:controlMemoryMb=${f.controlMemoryMb}`,
    ...(f.destroyBucket ? ['-c cai:retainBucket=false'] : []),
    ...(f.readBucket?.length ? [`-c cai:readBuckets=${f.readBucket.join(',')}`] : []),
    ...(f.nodeImage ? [`-c cai:nodeImage=${f.nodeImage}`] : []),
  ].join(' ');
  return {
    build: 'npm run build',
    bootstrap: 'npx aws-cdk bootstrap',
    deploy: `npx aws-cdk deploy --app "${CDK_APP}" ${ctx}`,
    destroy: `npx aws-cdk destroy --app "${CDK_APP}" ${ctx}`,
  };
}

function registerDeploy(aws: Command): void {
  sizingOptions(aws.command('deploy').description('print the exact commands that deploy the stack (it does not run them)'))
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
      action(async (flags: SizingFlags) => {
        const { lambdaConfig } = await import('../../compute/lambda/config.js');
        const { checkStackOptions } = await import('../../cloud/aws/options.js');
        lambdaConfig({ rankMemoryMb: flags.memoryMb, rankTimeoutS: flags.timeoutS, ephemeralStorageMb: flags.ephemeralMb, controlMemoryMb: flags.controlMemoryMb });
        checkStackOptions(stackOptions(flags));
        const c = deployCommands(flags);
        emit(flags, c, () =>
          [
            '# 1. build the CLI and the CDK app',
            c.build,
            '# 2. once per account and region',
            c.bootstrap,
            '# 3. deploy (builds the image with Docker, pushes it, creates the stack); prints BucketName and StateMachineArn',
            c.deploy,
            '# tear down (the bucket is kept unless --destroy-bucket was given)',
            c.destroy,
          ].join('\n'),
        );
      }),
    );
}

function registerRun(aws: Command): void {
  aws
    .command('run')
    .description('start a run on the deployed state machine and follow it to the summary')
    .option('--state-machine-arn <arn>', 'the stack output StateMachineArn (default: $CAI_STATE_MACHINE_ARN)', process.env.CAI_STATE_MACHINE_ARN)
    .requiredOption('--data <s3-uri>', 'data set: s3://bucket/prefix[/manifest.json]')
    .requiredOption('--world-size <W>', 'ranks (one rank function invocation each)', parseIntOption('world-size'))
    .option('--concurrency <C>', 'ranks running at once (Map MaxConcurrency; default min(W, 1000))', parseIntOption('concurrency'))
    .option('--model <s3-uri>', 'ONNX model in S3, or an absolute path in the image (default: the image\'s built-in calibrated model)')
    .option('--out <s3-uri>', 'results root; results go to results/<run-id>/ under it (default: the data bucket)')
    .option('--batch-size <B>', 'samples per model call', parseIntOption('batch-size'), DEFAULT_BATCH_SIZE)
    .option('--threads <T>', 'model threads per rank (default: the vCPUs of --memory-mb)', parseIntOption('threads'))
    .option('--memory-mb <M>', 'memory of the deployed rank function, MB (used for the cost figures)', parseIntOption('memory-mb'), DEFAULT_LAMBDA_CONFIG.rankMemoryMb)
    .option('--timeout-s <S>', 'timeout of the deployed rank function, seconds', parseIntOption('timeout-s'), DEFAULT_LAMBDA_CONFIG.rankTimeoutS)
    .option('--run-id <id>', 'name of the run; rerunning an id resumes it (default: run-<time>-<random>)')
    .option('--tolerated-failure-percent <P>', 'failed ranks (percent of W) that still make the run "partial"', parseIntOption('tolerated-failure-percent'), DEFAULT_TOLERATED_FAILURE_PERCENTAGE)
    .option('--read-ahead <n>', 'partitions fetched ahead of the model in each rank', parseIntOption('read-ahead'), 1)
    .option('--no-report', 'skip the HTML/PNG report')
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

Exit codes: 0 complete, 5 some ranks failed, 2 bad flags or an unknown state machine, 6 the execution timed
out (or --wait-timeout-s passed), 7 AWS unreachable, 1 the execution failed.`,
    )
    .action(
      action(async (flags: AwsRunFlags) => {
        if (!flags.stateMachineArn) throw new UsageError('--state-machine-arn is required (or set $CAI_STATE_MACHINE_ARN); "cai aws deploy" prints how to create one');
        const { makeExecutionRequest } = await import('../../compute/lambda/execution-input.js');
        const req = makeExecutionRequest(flags.stateMachineArn, {
          data: flags.data,
          worldSize: flags.worldSize,
          ...(flags.out !== undefined ? { out: flags.out } : {}),
          ...(flags.model !== undefined ? { model: flags.model } : {}),
          ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
          ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
          ...(flags.runId !== undefined ? { runId: flags.runId } : {}),
          batchSize: flags.batchSize,
          memoryMb: flags.memoryMb,
          timeoutS: flags.timeoutS,
          toleratedFailurePercentage: flags.toleratedFailurePercent,
          readAhead: flags.readAhead,
          report: flags.report,
        });
        const { startExecutionInput } = await import('../../compute/lambda/engine.js');
        if (flags.dryRun) {
          const sent = startExecutionInput(req);
          emit(flags, { ...sent, input: req.input }, () => `StartExecution ${sent.stateMachineArn}\nname: ${sent.name}\ninput: ${sent.input}`);
          return;
        }
        const say = (line: string): void => {
          if (!flags.json) process.stderr.write(line + '\n');
        };
        const { computeBackend } = await import('../../compute/index.js');
        const runner = await computeBackend('aws-lambda').open({ stateMachineArn: req.stateMachineArn });
        try {
          const { executionArn } = await runner.start(req);
          say(`cai aws run: run ${req.input.run.runId}, execution ${executionArn}`);
          if (!flags.wait) {
            emit(flags, { executionArn, name: req.name, runId: req.input.run.runId, results: req.input.run.results.uri }, () => executionArn);
            return;
          }
          const progress = new Progress(flags);
          const t0 = Date.now();
          let end;
          try {
            end = await runner.wait(executionArn, {
              intervalMs: flags.pollS * 1000,
              ...(flags.waitTimeoutS !== undefined ? { timeoutS: flags.waitTimeoutS } : {}),
              onUpdate: (s) => {
                const secs = Math.round((Date.now() - t0) / 1000);
                const r = s.ranks;
                progress.update(`${s.status} ${secs}s` + (r ? `  ranks ${r.succeeded + r.failed}/${r.total} done, ${r.running} running, ${r.pending} pending` : '  initializing'), true);
              },
            });
          } finally {
            progress.done();
          }
          if (end.status !== 'SUCCEEDED') {
            const why = [end.error, end.cause].filter(Boolean).join(': ').replace(/\s*\n\s*/g, ' ').slice(0, 500);
            throw new CaiError(`execution ${executionArn} ended ${end.status}${why ? `: ${why}` : ''}`, end.status === 'TIMED_OUT' ? ExitCode.timeout : ExitCode.internal);
          }
          const { readRunSummary } = await import('../../workflow/summary/store.js');
          const summary = await readRunSummary(req.input.run);
          const { renderSummary } = await import('./run.js');
          emit(flags, summary, () => renderSummary(summary));
          if (summary.status !== 'complete') process.exitCode = ExitCode.partial;
        } finally {
          await runner.close();
        }
      }),
    );
}
