// Synthesizing the stack to a CloudFormation template offline: no AWS account and no Docker are needed
// (the image is only fingerprinted here; `cdk deploy` builds and pushes it).
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { CaiStack } from './stack.js';
import { checkStackOptions, DEFAULT_STACK_NAME, type StackOptions } from './options.js';

export { CONTEXT_KEYS, DEFAULT_STACK_NAME, checkStackOptions, stackOptionsFromContext, type StackOptions } from './options.js';

export const DEFAULT_CDK_OUT = 'cdk.out';

export interface SynthOptions extends StackOptions {
  /** Cloud assembly directory (default cdk.out). */
  outDir?: string;
}

export interface SynthResult {
  outDir: string;
  stackName: string;
  templateFile: string;
  template: CloudFormationTemplate;
  /** Fingerprint of the image the functions run (the tag `cdk deploy` pushes). */
  imageHash: string;
  stack: CaiStack;
}

export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown; DeletionPolicy?: string }>;
  Outputs?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Add the stack to an app. */
export function addStack(app: App, stack: StackOptions = {}): CaiStack {
  checkStackOptions(stack);
  const { stackName = DEFAULT_STACK_NAME, ...props } = stack;
  return new CaiStack(app, stackName, {
    ...props,
    description: 'CAI: AstroMAE redshift inference on Lambda and Step Functions (Initialize -> Distributed Map over ranks -> Summarize -> Report)',
  });
}

export function synthesize(options: SynthOptions = {}): SynthResult {
  const outDir = resolve(options.outDir ?? DEFAULT_CDK_OUT);
  mkdirSync(outDir, { recursive: true });
  const app = new App({ outdir: outDir, analyticsReporting: false });
  const stack = addStack(app, options);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const templateFile = join(outDir, artifact.templateFile);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CloudFormationTemplate;
  const image = stack.node.findChild('Image') as import('aws-cdk-lib/aws-ecr-assets').DockerImageAsset;
  return { outDir, stackName: stack.stackName, templateFile, template, imageHash: image.assetHash, stack };
}
