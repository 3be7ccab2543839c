// The AWS deployment as one CDK stack: a bucket for data, models and results; one container image (built
// from deploy/aws/Dockerfile) serving four Lambda functions, one per task state (Initialize, rank,
// Summarize, Report); and the Step Functions state machine whose definition is the one the local engine
// runs, with these functions' ARNs.
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, IgnoreMode, RemovalPolicy, Size, Stack, type StackProps } from 'aws-cdk-lib';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { LAMBDA_ENV, LAMBDA_TASKS, handlerFor, lambdaConfig, type LambdaComputeConfig, type LambdaTask } from '../../compute/lambda/config.js';
import { ARN_SUBSTITUTIONS, deployedDefinition } from './deployed-definition.js';

/** The repository root, which is the image's build context (the same depth from src/ and dist/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DOCKERFILE = 'deploy/aws/Dockerfile';

/**
 * What of the repository the image build sees: sources, lockfile and price catalog. Everything else
 * (node_modules, dist, build outputs, tests, cdk.out) stays out of the context and out of the image's
 * fingerprint, so synthesizing needs no Docker and hashes only a few hundred small files.
 */
export const IMAGE_CONTEXT = ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'src', 'catalog', 'deploy/aws'];
export const IMAGE_EXCLUDE = ['**', ...IMAGE_CONTEXT.flatMap((p) => [`!${p}`, `!${p}/**`])];

export interface CaiStackProps extends StackProps, Partial<LambdaComputeConfig> {
  /** Keep the bucket (and what it holds) when the stack is deleted. Default true. */
  retainBucket?: boolean;
  /** Other buckets the functions may read data or models from. */
  readBuckets?: string[];
  /** Build context of the image (default: this repository). */
  imageDirectory?: string;
  /** Base image of the build (the Dockerfile's NODE_IMAGE; default LAMBDA_NODE_IMAGE, public.ecr.aws/lambda/nodejs:24). */
  nodeImage?: string;
}

export class CaiStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly functions: Record<LambdaTask, lambda.DockerImageFunction>;
  readonly stateMachine: sfn.StateMachine;
  readonly config: LambdaComputeConfig;

  constructor(scope: Construct, id: string, props: CaiStackProps = {}) {
    super(scope, id, props);
    const config = lambdaConfig(props);
    this.config = config;
    const retain = props.retainBucket ?? true;

    this.bucket = new s3.Bucket(this, 'Data', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retain,
    });

    // One image for the four functions; each function only overrides the handler (CMD).
    const image = new DockerImageAsset(this, 'Image', {
      directory: props.imageDirectory ?? REPO_ROOT,
      file: DOCKERFILE,
      exclude: IMAGE_EXCLUDE,
      ignoreMode: IgnoreMode.DOCKER,
      platform: Platform.LINUX_AMD64,
      ...(props.nodeImage ? { buildArgs: { NODE_IMAGE: props.nodeImage } } : {}),
    });

    const fn = (task: LambdaTask, memoryMb: number, timeoutS: number, ephemeralMb?: number): lambda.DockerImageFunction => {
      const name = task[0]!.toUpperCase() + task.slice(1);
      const logGroup = new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
      const f = new lambda.DockerImageFunction(this, `${name}Function`, {
        description: `CAI ${task} task`,
        code: lambda.DockerImageCode.fromEcr(image.repository, { tagOrDigest: image.imageTag, cmd: [handlerFor(task)] }),
        architecture: lambda.Architecture.X86_64,
        memorySize: memoryMb,
        timeout: Duration.seconds(timeoutS),
        ...(ephemeralMb ? { ephemeralStorageSize: Size.mebibytes(ephemeralMb) } : {}),
        environment: { [LAMBDA_ENV.storageUri]: `s3://${this.bucket.bucketName}`, [LAMBDA_ENV.task]: task },
        logGroup,
      });
      this.bucket.grantReadWrite(f);
      for (const b of props.readBuckets ?? []) {
        f.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:${this.partition}:s3:::${b}/*`] }));
        f.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [`arn:${this.partition}:s3:::${b}`] }));
      }
      return f;
    };
    this.functions = {
      initialize: fn('initialize', config.controlMemoryMb, config.controlTimeoutS),
      rank: fn('rank', config.rankMemoryMb, config.rankTimeoutS, config.ephemeralStorageMb),
      summarize: fn('summarize', config.controlMemoryMb, config.controlTimeoutS),
      report: fn('report', config.controlMemoryMb, config.controlTimeoutS),
    };

    // The name is fixed so the role can name the machine's own ARN (the Distributed Map starts child
    // executions of it) without a dependency cycle.
    const stateMachineName = `${this.stackName}-run`.slice(0, 80);
    const definition = deployedDefinition({ rankTimeoutS: config.rankTimeoutS, controlTimeoutS: config.controlTimeoutS });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
      definitionSubstitutions: Object.fromEntries(LAMBDA_TASKS.map((t) => [ARN_SUBSTITUTIONS[t], this.functions[t].functionArn])),
    });
    for (const t of LAMBDA_TASKS) this.functions[t].grantInvoke(this.stateMachine);
    const selfArn = this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executionsArn = this.formatArn({ service: 'states', resource: 'execution', resourceName: `${stateMachineName}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ sid: 'DistributedMapChildren', actions: ['states:StartExecution'], resources: [selfArn] }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ sid: 'DistributedMapChildExecutions', actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executionsArn] }));

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName, description: 'data, models and results' });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn, description: 'pass to cai aws run --state-machine-arn' });
    new CfnOutput(this, 'RankFunctionName', { value: this.functions.rank.functionName });
    new CfnOutput(this, 'RankMemoryMb', { value: String(config.rankMemoryMb) });
  }
}
