import { join, resolve } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, LogLevel } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: Lambda entry points live under `lambdas/handlers/`. */
export const REPO_ROOT = resolve(__dirname, '..');

/** `lambdas/handlers/<name>.ts`, the entry point of a Kinto Lambda. */
export const handlerEntry = (name: string): string => join(REPO_ROOT, 'lambdas', 'handlers', `${name}.ts`);

export interface KintoFunctionProps {
  /** The handler file (exports `handler`); see `handlerEntry`. */
  readonly entry: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** @default - no variables */
  readonly environment?: Record<string, string>;
  /** @default 256 MiB */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted: platform logs are diagnostics,
   * not data, so they go with the stack.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default - no dead-letter queue */
  readonly deadLetterQueue?: lambda.FunctionProps['deadLetterQueue'];
  /** @default - Lambda's default of 2 retries for asynchronous invocations */
  readonly retryAttempts?: number;
  /**
   * Bundle the AWS SDK (the version the tests ran) rather than use the runtime's copy. Small,
   * cold-start-sensitive functions (the authorizer) leave it out and load it only when needed.
   * @default true
   */
  readonly bundleAwsSdk?: boolean;
  /** Ship a source map (stack traces into the TypeScript sources), at some bundle size. @default true */
  readonly sourceMap?: boolean;
  /** @default `Kinto <id> Lambda` */
  readonly roleDescription?: string;
  /** A function in a VPC (and with a file system): its caller grants the network-interface actions. @default - no VPC */
  readonly network?: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups' | 'filesystem'>;
}

/**
 * A Kinto Lambda with the platform's defaults in one place: Node.js 24 (the newest Lambda
 * Node.js runtime) on arm64, bundled by the local esbuild package (never Docker), AWS SDK
 * included (the SDK version the tests ran), an explicit log group with retention, and a role
 * of its own that may only write to that log group until callers grant it more.
 */
export class KintoFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: KintoFunctionProps) {
    super(scope, id);
    if (!props.entry.startsWith(REPO_ROOT)) {
      throw new Error(`KintoFunction ${id}: entry "${props.entry}" is outside the repository (${REPO_ROOT}); use handlerEntry('<name>').`);
    }
    const memorySize = props.memorySize ?? 256;
    const sourceMap = props.sourceMap ?? true;
    const bundleAwsSdk = props.bundleAwsSdk ?? true;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) {
      throw new Error(`KintoFunction ${id}: memorySize must be a whole number of MiB from 128 to 10240, got ${memorySize}.`);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // A role without AWS managed policies: AWSLambdaBasicExecutionRole would allow writing to any log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.roleDescription ?? `Kinto ${id} Lambda`,
    });
    this.logGroup.grant(this.role, 'logs:CreateLogStream', 'logs:PutLogEvents');

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      // Stack traces point into the TypeScript sources (sourceMap below).
      environment: { ...(sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}), ...props.environment },
      role: this.role,
      logGroup: this.logGroup,
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: props.retryAttempts,
      ...props.network,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node24',
        minify: true,
        sourceMap,
        // Stack traces need file and line only: without the sources the map is a fraction of the size to load.
        sourcesContent: false,
        // ESM builds of middy/jose tree-shake better.
        mainFields: ['module', 'main'],
        bundleAwsSDK: bundleAwsSdk,
        ...(bundleAwsSdk ? {} : { externalModules: ['@aws-sdk/*'] }),
        logLevel: LogLevel.WARNING,
      },
    });
  }
}
