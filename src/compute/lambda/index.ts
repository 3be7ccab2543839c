// The AWS compute backend: Lambda functions under AWS Step Functions, which runs the whole state machine.
// Its engine is the Step Functions client (engine.ts), loaded with the AWS SDK only when opened.
import type { ExecutionBackend } from '../backend.js';
import { checkInstanceFigures } from '../limits.js';
import { LAMBDA_BACKEND_NAME, LAMBDA_LIMITS, lambdaVcpus, maxLambdaThreads } from './config.js';
import type { StepFunctionsClientOptions, StepFunctionsEngine } from './engine.js';

export interface LambdaEngineConfig {
  /** The deployed state machine (`cai aws deploy` prints how to create it). */
  stateMachineArn: string;
  /** The Step Functions client's endpoint and retries (default: AWS, util/aws-retry.ts). */
  client?: StepFunctionsClientOptions;
}

export const lambda = {
  name: LAMBDA_BACKEND_NAME,
  runs: 'executions' as const,
  limits: LAMBDA_LIMITS,
  checkFigures: (figures) => checkInstanceFigures(LAMBDA_LIMITS, figures),
  threadsPerInstance: ({ memoryMb }) => lambdaVcpus(memoryMb),
  maxThreadsPerInstance: ({ memoryMb }) => maxLambdaThreads(memoryMb),
  async open({ stateMachineArn, client }: LambdaEngineConfig): Promise<StepFunctionsEngine> {
    const { StepFunctionsEngine } = await import('./engine.js');
    return StepFunctionsEngine.forStateMachine(stateMachineArn, client);
  },
} satisfies ExecutionBackend<LambdaEngineConfig, StepFunctionsEngine>;
