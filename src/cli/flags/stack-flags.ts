// The flags that size and name the AWS stack, for every command that synthesizes or deploys it
// (`cai aws synth`, `cai aws deploy`), and their translation into the stack's options.
import type { Command } from 'commander';
import { DEFAULT_LAMBDA_CONFIG, LAMBDA_NODE_IMAGE } from '../../compute/lambda/config.js';
import { DEFAULT_STACK_NAME, type StackOptions } from '../../cloud/aws/options.js';
import { parseIntOption } from '../output.js';

export interface StackFlags {
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

export function addStackOptions(command: Command): Command {
  return command
    .option('--memory-mb <M>', 'memory of the rank function, MB (128-10240; the study used 10240)', parseIntOption('memory-mb'), DEFAULT_LAMBDA_CONFIG.rankMemoryMb)
    .option('--timeout-s <S>', 'timeout of a rank invocation, seconds (1-900)', parseIntOption('timeout-s'), DEFAULT_LAMBDA_CONFIG.rankTimeoutS)
    .option('--ephemeral-mb <E>', '/tmp of the rank function, MB (512-10240)', parseIntOption('ephemeral-mb'), DEFAULT_LAMBDA_CONFIG.ephemeralStorageMb)
    .option('--control-memory-mb <M>', 'memory of the Initialize and Summarize functions, MB', parseIntOption('control-memory-mb'), DEFAULT_LAMBDA_CONFIG.controlMemoryMb)
    .option('--stack-name <name>', 'CloudFormation stack name (the state machine is <name>-run)', DEFAULT_STACK_NAME)
    .option('--read-bucket <bucket...>', 'other buckets the functions may read data or models from')
    .option('--destroy-bucket', 'delete the bucket and its objects with the stack (default: keep it)')
    .option('--node-image <image>', `base image of the function image (default: ${LAMBDA_NODE_IMAGE})`);
}

export function stackOptions(flags: StackFlags): StackOptions {
  return {
    stackName: flags.stackName,
    rankMemoryMb: flags.memoryMb,
    rankTimeoutS: flags.timeoutS,
    ephemeralStorageMb: flags.ephemeralMb,
    controlMemoryMb: flags.controlMemoryMb,
    retainBucket: !flags.destroyBucket,
    ...(flags.readBucket?.length ? { readBuckets: flags.readBucket } : {}),
    ...(flags.nodeImage ? { nodeImage: flags.nodeImage } : {}),
  };
}
