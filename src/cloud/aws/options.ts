// Options of the stack as flags and CDK context give them, checked before they reach a template or a
// printed command. No CDK import here: the CLI checks flags without loading the CDK libraries.
import { UsageError } from '../../errors.js';
import type { CaiStackProps } from './stack.js';

export const DEFAULT_STACK_NAME = 'Cai';

/** Context keys `cdk deploy -c key=value` sets, mapped to stack properties. */
export const CONTEXT_KEYS = {
  stackName: 'cai:stackName',
  rankMemoryMb: 'cai:memoryMb',
  rankTimeoutS: 'cai:timeoutS',
  ephemeralStorageMb: 'cai:ephemeralMb',
  controlMemoryMb: 'cai:controlMemoryMb',
  retainBucket: 'cai:retainBucket',
  readBuckets: 'cai:readBuckets',
  nodeImage: 'cai:nodeImage',
} as const;

export interface StackOptions extends Omit<CaiStackProps, 'env'> {
  stackName?: string;
}

function intContext(key: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`context ${key} must be an integer, got "${String(v)}"`);
  return n;
}

/** Stack options from CDK context values (strings when given with -c on the command line). */
export function stackOptionsFromContext(get: (key: string) => unknown): StackOptions {
  const name = get(CONTEXT_KEYS.stackName);
  const retain = get(CONTEXT_KEYS.retainBucket);
  const read = get(CONTEXT_KEYS.readBuckets);
  const nodeImage = get(CONTEXT_KEYS.nodeImage);
  return {
    ...(name !== undefined ? { stackName: String(name) } : {}),
    rankMemoryMb: intContext(CONTEXT_KEYS.rankMemoryMb, get(CONTEXT_KEYS.rankMemoryMb)),
    rankTimeoutS: intContext(CONTEXT_KEYS.rankTimeoutS, get(CONTEXT_KEYS.rankTimeoutS)),
    ephemeralStorageMb: intContext(CONTEXT_KEYS.ephemeralStorageMb, get(CONTEXT_KEYS.ephemeralStorageMb)),
    controlMemoryMb: intContext(CONTEXT_KEYS.controlMemoryMb, get(CONTEXT_KEYS.controlMemoryMb)),
    ...(retain !== undefined ? { retainBucket: String(retain) !== 'false' } : {}),
    ...(nodeImage !== undefined ? { nodeImage: String(nodeImage) } : {}),
    ...(read !== undefined ? { readBuckets: (Array.isArray(read) ? read.map(String) : String(read).split(',')).map((b) => b.trim()).filter(Boolean) } : {}),
  };
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9./:@_-]{0,254}$/;

/** Check names before they reach a template or a printed command: what CloudFormation, S3 and Docker allow. */
export function checkStackOptions(stack: StackOptions): void {
  const name = stack.stackName ?? DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,75}$/.test(name)) throw new UsageError(`stack name "${name}" must start with a letter and hold only letters, digits and "-" (at most 76)`);
  for (const b of stack.readBuckets ?? []) if (!BUCKET_NAME.test(b)) throw new UsageError(`"${b}" is not a valid S3 bucket name`);
  if (stack.nodeImage !== undefined && !IMAGE_REF.test(stack.nodeImage)) throw new UsageError(`"${stack.nodeImage}" is not an image reference (registry/name:tag)`);
}
