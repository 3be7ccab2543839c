// The commands that deploy the stack with given options, printed for the user to run (deploying needs
// their AWS account and Docker). The options travel as CDK context, under the keys the CDK app reads
// back (CONTEXT_KEYS), so the deployed stack is the one `cai aws synth` shows.
import { lambdaConfig } from '../../compute/lambda/config.js';
import { CONTEXT_KEYS, DEFAULT_STACK_NAME, checkStackOptions, type StackOptions } from './options.js';

/** How the CDK CLI runs the app from a checkout, after `npm run build`. */
export const CDK_APP = 'node dist/cloud/aws/app.js';

export interface DeployCommands {
  build: string;
  bootstrap: string;
  deploy: string;
  destroy: string;
}

/** Check the options as the stack would (Lambda's limits, names), then the commands that deploy them. */
export function deployCommands(stack: StackOptions): DeployCommands {
  const sizes = lambdaConfig({ rankMemoryMb: stack.rankMemoryMb, rankTimeoutS: stack.rankTimeoutS, ephemeralStorageMb: stack.ephemeralStorageMb, controlMemoryMb: stack.controlMemoryMb });
  checkStackOptions(stack);
  const context = [
    `-c ${CONTEXT_KEYS.stackName}=${stack.stackName ?? DEFAULT_STACK_NAME}`,
    `-c ${CONTEXT_KEYS.rankMemoryMb}=${sizes.rankMemoryMb}`,
    `-c ${CONTEXT_KEYS.rankTimeoutS}=${sizes.rankTimeoutS}`,
    `-c ${CONTEXT_KEYS.ephemeralStorageMb}=${sizes.ephemeralStorageMb}`,
    `-c ${CONTEXT_KEYS.controlMemoryMb}=${sizes.controlMemoryMb}`,
    ...(stack.retainBucket === false ? [`-c ${CONTEXT_KEYS.retainBucket}=false`] : []),
    ...(stack.readBuckets?.length ? [`-c ${CONTEXT_KEYS.readBuckets}=${stack.readBuckets.join(',')}`] : []),
    ...(stack.nodeImage ? [`-c ${CONTEXT_KEYS.nodeImage}=${stack.nodeImage}`] : []),
  ].join(' ');
  return {
    build: 'npm run build',
    bootstrap: 'npx aws-cdk bootstrap',
    deploy: `npx aws-cdk deploy --app "${CDK_APP}" ${context}`,
    destroy: `npx aws-cdk destroy --app "${CDK_APP}" ${context}`,
  };
}
