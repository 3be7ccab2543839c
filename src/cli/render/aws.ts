// The human text of the AWS commands: what `cai aws synth` wrote, the commands `cai aws deploy` prints,
// and the request `cai aws run --dry-run` would send.
import type { DeployCommands } from '../../cloud/aws/deploy-commands.js';
import type { SynthSummary } from '../../cloud/aws/synth-summary.js';

export function renderSynth(s: SynthSummary, flow: string): string {
  return [
    `synthesized stack ${s.stackName} into ${s.outDir}`,
    `template: ${s.templateFile}`,
    `state machine ${s.stateMachineName}: ${flow}`,
    `rank function: ${s.rankFunction.memoryMb} MB, ${s.rankFunction.timeoutS} s, /tmp ${s.rankFunction.ephemeralMb} MB; Initialize, Summarize, Report: ${s.controlFunctions.memoryMb} MB, ${s.controlFunctions.timeoutS} s`,
    `image: deploy/aws/Dockerfile, fingerprint ${s.imageHash.slice(0, 12)} (built by cdk deploy)`,
    `resources: ${Object.entries(s.resources).map(([t, n]) => `${n} ${t}`).join(', ')}`,
  ].join('\n');
}

export function renderDeployCommands(c: DeployCommands): string {
  return [
    '# 1. build the CLI and the CDK app',
    c.build,
    '# 2. once per account and region',
    c.bootstrap,
    '# 3. deploy (builds the image with Docker, pushes it, creates the stack); prints BucketName and StateMachineArn',
    c.deploy,
    '# tear down (the bucket is kept unless --destroy-bucket was given)',
    c.destroy,
  ].join('\n');
}

export function renderStartExecution(sent: { stateMachineArn: string; name: string; input: string }): string {
  return `StartExecution ${sent.stateMachineArn}\nname: ${sent.name}\ninput: ${sent.input}`;
}
