// `cai aws` as a user runs it: synth writes a template offline, deploy prints the commands, run --dry-run
// prints the request; mistakes end with one line and exit code 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigSchema } from '../../src/workflow/contracts.js';

function cai(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env, CAI_STATE_MACHINE_ARN: env.CAI_STATE_MACHINE_ARN ?? '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Cai-run';

test('cai aws synth --json writes the template with the requested memory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-aws-cli-'));
  try {
    const r = cai(['aws', 'synth', '--out', join(dir, 'cdk.out'), '--memory-mb', '3008', '--stack-name', 'CaiTest', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { templateFile: string; stackName: string; stateMachineName: string; states: string[]; rankFunction: { memoryMb: number }; resources: Record<string, number> };
    assert.equal(out.stackName, 'CaiTest');
    assert.equal(out.stateMachineName, 'CaiTest-run');
    assert.deepEqual(out.states, ['Initialize', 'RunRanks', 'Summarize', 'ReportWanted', 'Report', 'ReportFailed', 'SkipReport', 'RunRank', 'RankFailed']);
    assert.equal(out.rankFunction.memoryMb, 3008);
    assert.equal(out.resources['AWS::Lambda::Function'], 4);
    assert.equal(out.resources['AWS::StepFunctions::StateMachine'], 1);
    assert.ok(existsSync(out.templateFile));
    const t = JSON.parse(readFileSync(out.templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties: { MemorySize?: number } }> };
    assert.deepEqual(Object.values(t.Resources).filter((x) => x.Type === 'AWS::Lambda::Function').map((x) => x.Properties.MemorySize).sort(), [1024, 1024, 1024, 3008]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cai aws deploy prints the cdk commands with the sizes as context', () => {
  const r = cai(['aws', 'deploy', '--memory-mb', '2048', '--read-bucket', 'sdss-public', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as Record<string, string>;
  assert.equal(c.deploy, 'npx aws-cdk deploy --app "node dist/cloud/aws/app.js" -c cai:stackName=Cai -c cai:memoryMb=2048 -c cai:timeoutS=900 -c cai:ephemeralMb=1024 -c cai:controlMemoryMb=1024 -c cai:readBuckets=sdss-public');
  assert.equal(c.bootstrap, 'npx aws-cdk bootstrap');
  assert.match(c.destroy, /^npx aws-cdk destroy --app "node dist\/cloud\/aws\/app\.js" /);
  const bad = cai(['aws', 'deploy', '--memory-mb', '20000']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), 'cai: rank memory (MB) must be an integer from 128 to 10240, got 20000');
});

test('cai aws run --dry-run prints the StartExecution request; mistakes are one line with exit code 2', () => {
  const r = cai(['aws', 'run', '--state-machine-arn', ARN, '--data', 's3://sdss-data/dr16/manifest.json', '--world-size', '16', '--concurrency', '4', '--run-id', 'dr16-a', '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const req = JSON.parse(r.stdout) as { stateMachineArn: string; name: string; input: { run: unknown } };
  assert.equal(req.stateMachineArn, ARN);
  assert.match(req.name, /^dr16-a-[0-9a-f]{6}$/);
  const run = runConfigSchema.parse(req.input.run);
  assert.deepEqual([run.runId, run.worldSize, run.concurrency, run.data.uri, run.data.manifestKey, run.results.uri], ['dr16-a', 16, 4, 's3://sdss-data/dr16', 'manifest.json', 's3://sdss-data']);

  // The ARN may come from the environment.
  const fromEnv = cai(['aws', 'run', '--data', 's3://sdss-data/dr16', '--world-size', '2', '--dry-run', '--json'], { CAI_STATE_MACHINE_ARN: ARN });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);

  const noArn = cai(['aws', 'run', '--data', 's3://sdss-data/dr16', '--world-size', '2']);
  assert.equal(noArn.code, 2);
  assert.match(noArn.stderr, /^cai: --state-machine-arn is required \(or set \$CAI_STATE_MACHINE_ARN\)/);
  const local = cai(['aws', 'run', '--state-machine-arn', ARN, '--data', './data', '--world-size', '2']);
  assert.equal(local.code, 2);
  assert.equal(local.stderr.trim(), 'cai: --data "./data" must be an s3://bucket/prefix URI: Lambda functions read and write S3');
});
