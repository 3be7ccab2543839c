// The CDK stack synthesized in-process (no AWS account, no Docker): the state machine is the local run's
// definition with the real functions' ARNs, the functions have the configured sizes, and IAM grants what a
// Distributed Map over Lambda needs. Then the deployed definition itself runs under aws-local-stepfunctions
// with each task calling the Lambda entry point against a loopback S3 server.
import '../../src/util/promise-with-resolvers.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { checkStackOptions, synthesize, stackOptionsFromContext, type CloudFormationTemplate, type SynthResult } from '../../src/cloud/aws/synth.js';
import { ARN_SUBSTITUTIONS, CONCURRENCY_PATH, TOLERATED_FAILURE_PATH, substituteDefinition } from '../../src/cloud/aws/deployed-definition.js';
import { handlerFor, LAMBDA_TASKS, type LambdaTask } from '../../src/compute/lambda/config.js';
import { makeExecutionRequest } from '../../src/compute/lambda/execution-input.js';
import { buildDefinition, localArns, STATE, validateDefinition, type AslDefinition } from '../../src/workflow/definition.js';
import { synthesizeDataset } from '../../src/data/synth/write-dataset.js';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { summarySchema } from '../../src/workflow/contracts.js';
import { UsageError } from '../../src/errors.js';
import { startS3, S3RVER_CREDENTIALS, type S3Fixture } from '../support/s3rver.js';

type Resource = CloudFormationTemplate['Resources'][string];
let dir: string;
let synth: SynthResult;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cai-cdk-'));
  synth = synthesize({ outDir: join(dir, 'default') });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const resources = (t: CloudFormationTemplate, type: string): [string, Resource][] => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const fakeArn = (logicalId: string): string => `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;

/** The task each function serves, by its image CMD. */
function functionsByTask(t: CloudFormationTemplate): Record<LambdaTask, [string, Resource]> {
  const out = {} as Record<LambdaTask, [string, Resource]>;
  for (const [id, r] of resources(t, 'AWS::Lambda::Function')) {
    const cmd = (r.Properties!.ImageConfig as { Command: string[] }).Command;
    const task = LAMBDA_TASKS.find((k) => cmd[0] === handlerFor(k));
    assert.ok(task, `function ${id} runs ${cmd.join(' ')}`);
    out[task] = [id, r];
  }
  return out;
}

/** The state machine's definition after CloudFormation's substitutions, with stand-in ARNs for the GetAtts. */
function deployedDefinitionOf(t: CloudFormationTemplate): { text: string; def: AslDefinition; arns: Record<LambdaTask, string> } {
  const [[, sm]] = resources(t, 'AWS::StepFunctions::StateMachine') as [[string, Resource]];
  const subs = sm.Properties!.DefinitionSubstitutions as Record<string, { 'Fn::GetAtt': [string, string] }>;
  const fns = functionsByTask(t);
  const arns = {} as Record<LambdaTask, string>;
  const values: Record<string, string> = {};
  for (const task of LAMBDA_TASKS) {
    const ref = subs[ARN_SUBSTITUTIONS[task]]!['Fn::GetAtt'];
    assert.deepEqual(ref, [fns[task][0], 'Arn'], `${task} ARN substitution points at the ${task} function`);
    arns[task] = values[ARN_SUBSTITUTIONS[task]] = fakeArn(ref[0]);
  }
  const text = substituteDefinition(String(sm.Properties!.DefinitionString), values);
  return { text, def: JSON.parse(text) as AslDefinition, arns };
}

test('the deployed state machine is the local definition with the Lambda ARNs, and it validates', () => {
  const { def, arns } = deployedDefinitionOf(synth.template);
  // The validator adds defaults to what it is given; validate a copy.
  const v = validateDefinition(structuredClone(def));
  assert.deepEqual(v.errors, []);
  assert.equal(v.valid, true);

  const local = buildDefinition({ ...localArns(), maxConcurrency: 4, rankTimeoutSeconds: 930, toleratedFailurePercentage: 50 });
  assert.equal(def.StartAt, local.StartAt);
  assert.deepEqual(Object.keys(def.States), Object.keys(local.States));
  for (const name of Object.keys(local.States)) assert.equal(def.States[name]!.Type, local.States[name]!.Type, name);
  const map = def.States[STATE.ranks]!;
  const localMap = local.States[STATE.ranks]!;
  const proc = map.ItemProcessor as { ProcessorConfig: unknown; StartAt: string; States: Record<string, Record<string, unknown>> };
  const localProc = localMap.ItemProcessor as typeof proc;
  assert.deepEqual(proc.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
  assert.deepEqual(Object.keys(proc.States), Object.keys(localProc.States));
  for (const k of ['ItemsPath', 'ItemSelector', 'ResultPath', 'Next']) assert.deepEqual(map[k], localMap[k], k);
  // Retry and Catch of every task are the local ones; only the resources and the timeouts differ.
  assert.deepEqual(proc.States[STATE.rank]!.Retry, localProc.States[STATE.rank]!.Retry);
  assert.deepEqual(proc.States[STATE.rank]!.Catch, localProc.States[STATE.rank]!.Catch);
  assert.deepEqual(proc.States[STATE.rankFailed], localProc.States[STATE.rankFailed]);
  assert.deepEqual(def.States[STATE.summarize]!.Parameters, local.States[STATE.summarize]!.Parameters);
  assert.deepEqual(def.States[STATE.initialize]!.Retry, local.States[STATE.initialize]!.Retry);
  // The real function of each task; the Map's limits come from the execution input.
  assert.equal(def.States[STATE.initialize]!.Resource, arns.initialize);
  assert.equal(proc.States[STATE.rank]!.Resource, arns.rank);
  assert.equal(def.States[STATE.summarize]!.Resource, arns.summarize);
  assert.equal(map.MaxConcurrencyPath, CONCURRENCY_PATH);
  assert.equal(map.ToleratedFailurePercentagePath, TOLERATED_FAILURE_PATH);
  assert.equal(map.MaxConcurrency, undefined);
  assert.equal(proc.States[STATE.rank]!.TimeoutSeconds, 900 + 60);
});

test('functions: one image, a handler per task, the configured memory, timeout and /tmp, the bucket in the environment', () => {
  const fns = functionsByTask(synth.template);
  const [, rank] = fns.rank;
  assert.equal(rank.Properties!.MemorySize, 10240);
  assert.equal(rank.Properties!.Timeout, 900);
  assert.deepEqual(rank.Properties!.EphemeralStorage, { Size: 1024 });
  assert.equal(rank.Properties!.PackageType, 'Image');
  for (const task of ['initialize', 'summarize'] as const) assert.equal(fns[task][1].Properties!.MemorySize, 1024);
  const [[bucketId]] = resources(synth.template, 'AWS::S3::Bucket') as [[string, Resource]];
  const images = new Set<string>();
  for (const task of LAMBDA_TASKS) {
    const p = fns[task][1].Properties!;
    const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(env.CAI_STORAGE_URI, { 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] });
    assert.equal(env.CAI_TASK, task);
    images.add(JSON.stringify(p.Code));
  }
  assert.equal(images.size, 1);
  assert.match([...images][0]!, new RegExp(`:${synth.imageHash}"`));

  const other = synthesize({ outDir: join(dir, 'small'), rankMemoryMb: 3008, rankTimeoutS: 300 });
  const [, small] = functionsByTask(other.template).rank;
  assert.equal(small.Properties!.MemorySize, 3008);
  assert.equal(small.Properties!.Timeout, 300);
  const otherProc = deployedDefinitionOf(other.template).def.States[STATE.ranks]!.ItemProcessor as { States: Record<string, { TimeoutSeconds: number }> };
  assert.equal(otherProc.States[STATE.rank]!.TimeoutSeconds, 300 + 60);
  // Sizes are configuration, not image content.
  assert.equal(other.imageHash, synth.imageHash);
  assert.throws(() => synthesize({ outDir: join(dir, 'bad'), rankMemoryMb: 100 }), (e: Error) => e instanceof UsageError && /rank memory \(MB\) must be an integer from 128 to 10240, got 100/.test(e.message));
});

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
function statementsOf(t: CloudFormationTemplate, roleId: string): Statement[] {
  return resources(t, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

test('IAM: the state machine invokes the four functions and starts its own child executions; functions use the bucket', () => {
  const t = synth.template;
  const [[, sm]] = resources(t, 'AWS::StepFunctions::StateMachine') as [[string, Resource]];
  assert.equal(sm.Properties!.StateMachineName, 'Cai-run');
  const roleId = (sm.Properties!.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const st = statementsOf(t, roleId);
  const fns = functionsByTask(t);
  const invoke = st.filter((s) => actions(s).includes('lambda:InvokeFunction'));
  for (const task of LAMBDA_TASKS) assert.ok(invoke.some((s) => JSON.stringify(s.Resource).includes(`"${fns[task][0]}"`)), `invoke ${task}`);
  const start = st.find((s) => actions(s).includes('states:StartExecution'))!;
  assert.match(JSON.stringify(start.Resource), /:stateMachine:Cai-run"/);
  const children = st.find((s) => actions(s).includes('states:DescribeExecution'))!;
  assert.ok(actions(children).includes('states:StopExecution'));
  assert.match(JSON.stringify(children.Resource), /:execution:Cai-run\/\*"/);
  assert.ok(st.every((s) => s.Effect === 'Allow'));

  const [[bucketId]] = resources(t, 'AWS::S3::Bucket') as [[string, Resource]];
  for (const task of LAMBDA_TASKS) {
    const role = (fns[task][1].Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const s3 = statementsOf(t, role).filter((s) => JSON.stringify(s.Resource).includes(`"${bucketId}"`));
    const granted = s3.flatMap(actions);
    for (const a of ['s3:GetObject*', 's3:PutObject', 's3:List*', 's3:DeleteObject*']) assert.ok(granted.includes(a), `${task} may ${a}`);
  }
  // The data stays when the stack goes, unless asked otherwise.
  assert.equal(t.Resources[bucketId]!.DeletionPolicy, 'Retain');
});

test('the image asset is fingerprinted without Docker from the sources only', () => {
  const assets = JSON.parse(readFileSync(join(synth.outDir, `${synth.stackName}.assets.json`), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }> };
  const image = assets.dockerImages[synth.imageHash]!;
  assert.equal(image.source.dockerFile, 'deploy/aws/Dockerfile');
  assert.equal(image.source.platform, 'linux/amd64');
  const staged = join(synth.outDir, image.source.directory);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'deploy/aws/Dockerfile', 'src/compute/lambda/entry-point.ts', 'src/workflow/definition.ts', 'catalog/aws-prices.json']) assert.ok(existsSync(join(staged, f)), f);
  for (const f of ['node_modules', 'dist', 'test', 'build', 'docs']) assert.equal(existsSync(join(staged, f)), false, f);
});

test('stack options from CDK context strings', () => {
  const ctx: Record<string, unknown> = { 'cai:memoryMb': '3008', 'cai:timeoutS': '600', 'cai:retainBucket': 'false', 'cai:readBuckets': 'a-bucket, b-bucket', 'cai:stackName': 'CaiSmall' };
  assert.deepEqual(stackOptionsFromContext((k) => ctx[k]), { stackName: 'CaiSmall', rankMemoryMb: 3008, rankTimeoutS: 600, ephemeralStorageMb: undefined, controlMemoryMb: undefined, retainBucket: false, readBuckets: ['a-bucket', 'b-bucket'] });
  assert.throws(() => stackOptionsFromContext((k) => (k === 'cai:memoryMb' ? 'lots' : undefined)), /context cai:memoryMb must be an integer, got "lots"/);
  assert.throws(() => checkStackOptions({ readBuckets: ['ok-bucket', 'x; rm -rf ~'] }), /"x; rm -rf ~" is not a valid S3 bucket name/);
  assert.throws(() => checkStackOptions({ stackName: '9lives' }), /stack name "9lives" must start with a letter/);
  assert.throws(() => checkStackOptions({ nodeImage: 'node $(id)' }), /is not an image reference/);
  checkStackOptions({ stackName: 'CaiSmall', readBuckets: ['sdss.public-data'], nodeImage: 'public.ecr.aws/lambda/nodejs:22' });
});

test('the synthesized definition runs end to end with the Lambda entry point behind each task', async () => {
  const s3: S3Fixture = await startS3('cai-deployed');
  const saved = { ...process.env };
  const cache = mkdtempSync(join(tmpdir(), 'cai-models-'));
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', CAI_STORAGE_URI: 's3://cai-deployed', CAI_MODEL_CACHE_DIR: cache });
  try {
    const bucket = new S3Storage({ bucket: 'cai-deployed', endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
    const manifest = await synthesizeDataset('sdss', { storage: bucket, samples: 20, seed: 3, partitionSamples: 5 });
    await bucket.put('models/m.onnx', buildAstroMAEOnnx({ seed: 2 }));
    const ep = await import('../../src/compute/lambda/entry-point.js');

    const { text, arns } = deployedDefinitionOf(synth.template);
    // The execution input exactly as `cai aws run` sends it.
    const req = makeExecutionRequest('arn:aws:states:us-east-1:123456789012:stateMachine:Cai-run', { data: 's3://cai-deployed/sdss/manifest.json', model: 's3://cai-deployed/models/m.onnx', worldSize: 3, concurrency: 1, runId: 'deployed-1', report: false, batchSize: 8, threads: 1 });
    let running = 0;
    let peak = 0;
    const ctx = (id: string): import('../../src/compute/lambda/entry-point.js').LambdaContextLike => ({ awsRequestId: id, memoryLimitInMB: '10240', getRemainingTimeInMillis: () => 900_000 });
    const sm = new StateMachine(JSON.parse(text), { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = sm.run(JSON.parse(JSON.stringify(req.input)), {
      overrides: {
        taskResourceLocalHandlers: {
          [STATE.initialize]: (e: unknown) => ep.initialize(e, ctx('i')) as never,
          [STATE.rank]: async (e: unknown) => {
            peak = Math.max(peak, ++running);
            try {
              return (await ep.rank(e, ctx('r'))) as never;
            } finally {
              running--;
            }
          },
          [STATE.summarize]: (e: unknown) => ep.summarize(e, ctx('s')) as never,
        },
      },
    });
    const output = (await execution.result) as { runId: string; status: string; summary: string };
    assert.deepEqual(output, { runId: 'deployed-1', status: 'complete', summary: 's3://cai-deployed/results/deployed-1/summary.json' });
    assert.equal(peak, 1, 'MaxConcurrencyPath took the run\'s concurrency');
    const summary = summarySchema.parse(JSON.parse(Buffer.from(await bucket.get('results/deployed-1/summary.json')).toString()));
    assert.equal(summary.performance.total.samples, manifest.samples);
    assert.equal(summary.accounting.exactlyOnce, true);
    assert.equal(summary.configuration.concurrency, 1);
    assert.ok(Object.values(arns).every((a) => a.startsWith('arn:aws:lambda:')));
  } finally {
    process.env = saved;
    await s3.stop();
    rmSync(cache, { recursive: true, force: true });
  }
});
