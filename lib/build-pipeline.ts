import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { handlerEntry, KintoFunction, REPO_ROOT } from './kinto-function';
import type { StateTable } from './state-table';

/** The Lambda runtime of job images (see buildspec.yml). */
export const JOB_RUNNER_ENTRY = join(REPO_ROOT, 'lambdas', 'adapters', 'aws', 'job-image', 'job-runner.ts');
/** The Lambda extension in website and microservice images (see buildspec.yml). */
export const REQUEST_GUARD_ENTRY = join(REPO_ROOT, 'lambdas', 'adapters', 'aws', 'block-image', 'request-guard-extension.ts');

/**
 * Bundles a program that builds copy into images into one CommonJS file with the local esbuild
 * (never Docker) and returns its path: a folder under the system's temp folder named after the
 * bundle's hash, so that repeated synths reuse it and the asset's hash changes only with the code.
 */
function bundleImageProgram(entry: string, fileName: string, banner?: string): string {
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // It runs on the image's node: the base image's, or a Dockerfile image's own (maybe old).
    target: 'node16',
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
    ...(banner ? { banner: { js: banner } } : {}),
  });
  const code = result.outputFiles[0].contents;
  const dir = join(tmpdir(), `kinto-${fileName}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, fileName);
  writeFileSync(file, code);
  return file;
}

export const bundleJobRunner = (): string => bundleImageProgram(JOB_RUNNER_ENTRY, 'job-runner.js');
/** An executable file: Lambda runs each file in /opt/extensions, here with the node the build puts at /opt/kinto/node. */
export const bundleRequestGuard = (): string => bundleImageProgram(REQUEST_GUARD_ENTRY, 'request-guard.js', '#!/opt/kinto/node');

export interface BuildPipelineProps {
  /** The build-events Lambda records build progress here. */
  readonly stateTable: StateTable;
  /**
   * The buildspec the project runs, inlined into the template at synth time.
   * @default the repository's top-level buildspec.yml
   */
  readonly buildSpecPath?: string;
  /**
   * Base image of Dockerfiles generated from build/start commands. ECR Public's mirror of the
   * Docker official images: Docker Hub rate-limits CodeBuild's shared addresses. Job images built
   * from a Dockerfile get its `/usr/local/bin/node` to run the job runner: keep it a glibc node image.
   * @default 'public.ecr.aws/docker/library/node:22-bookworm-slim'
   */
  readonly baseImage?: string;
  /**
   * The AWS Lambda Web Adapter image added to every block image (pinned: a new adapter is a reviewed change).
   * @default 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1'
   */
  readonly lambdaAdapterImage?: string;
  /**
   * Builds that may run at once; more wait in CodeBuild's queue. Bounds what a runaway client can spend.
   * @default 4
   */
  readonly concurrentBuildLimit?: number;
  /** @default Duration.minutes(30) */
  readonly buildTimeout?: Duration;
  /**
   * Untagged images (dangling layers of failed pushes) are deleted after this long. Every pushed
   * block image keeps its immutable `build-<build id>` tag (see buildspec.yml), and no rule expires
   * tagged images, so a release can always roll back to its image.
   * @default Duration.days(7)
   */
  readonly untaggedImageExpiry?: Duration;
  /**
   * What happens to the image repository when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly repositoryRemovalPolicy?: RemovalPolicy;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Builds blocks into container images: an ECR repository (scan on push, lifecycle rule), one
 * CodeBuild project running `buildspec.yml` (ARM, so images match the arm64 Lambdas), and an
 * EventBridge rule that sends the project's build state changes to the `build-events` Lambda,
 * which records them in the state table. Events that still fail after retries wait in a
 * dead-letter queue for 14 days.
 */
export class BuildPipeline extends Construct {
  public readonly repository: ecr.Repository;
  public readonly project: codebuild.Project;
  public readonly buildLogs: logs.LogGroup;
  public readonly eventsHandler: KintoFunction;
  public readonly deadLetterQueue: sqs.Queue;
  /** The job runner (one bundled file) that builds of job blocks copy into their images. */
  public readonly jobRunner: Asset;
  /** The request guard (one bundled file) that builds of websites and microservices add to their images. */
  public readonly requestGuard: Asset;

  constructor(scope: Construct, id: string, props: BuildPipelineProps) {
    super(scope, id);
    const concurrentBuildLimit = props.concurrentBuildLimit ?? 4;
    if (!Number.isInteger(concurrentBuildLimit) || concurrentBuildLimit < 1) {
      throw new Error(`BuildPipeline ${id}: concurrentBuildLimit must be a whole number >= 1, got ${concurrentBuildLimit}.`);
    }
    const buildTimeout = props.buildTimeout ?? Duration.minutes(30);
    if (buildTimeout.toMinutes({ integral: false }) < 5 || buildTimeout.toMinutes({ integral: false }) > 480) {
      throw new Error(
        `BuildPipeline ${id}: buildTimeout must be between 5 and 480 minutes (CodeBuild's limits), got ${buildTimeout.toHumanString()}.`,
      );
    }
    const buildSpecPath = props.buildSpecPath ?? join(REPO_ROOT, 'buildspec.yml');

    this.repository = new ecr.Repository(this, 'Images', {
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.AES_256,
      // A rebuild of the same commit moves the `<block>-<commit>` tag. `build-<id>` tags are
      // immutable: a re-run of the same CodeBuild build (same id) would otherwise move both tags off
      // an image a release pins, and the untagged rule below would delete it.
      imageTagMutability: ecr.TagMutability.MUTABLE_WITH_EXCLUSION,
      imageTagMutabilityExclusionFilters: [ecr.ImageTagMutabilityExclusionFilter.wildcard('build-*')],
      lifecycleRules: [
        {
          description: 'Delete untagged images (dangling layers of failed or replaced pushes)',
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: props.untaggedImageExpiry ?? Duration.days(7),
        },
      ],
      removalPolicy: props.repositoryRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.buildLogs = new logs.LogGroup(this, 'BuildLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.jobRunner = new Asset(this, 'JobRunner', { path: bundleJobRunner() });
    this.requestGuard = new Asset(this, 'RequestGuard', { path: bundleRequestGuard() });

    this.project = new codebuild.Project(this, 'Project', {
      description:
        'Kinto block builds: clone at a commit, build an image with the Lambda Web Adapter (jobs: the Kinto job runner), push to ECR (buildspec.yml)',
      buildSpec: new InlineBuildSpec(readFileSync(buildSpecPath, 'utf8')),
      environment: {
        buildImage: codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
        computeType: codebuild.ComputeType.SMALL,
        // Docker builds need the Docker daemon inside the build container.
        privileged: true,
        environmentVariables: {
          KINTO_IMAGE_REPOSITORY: { value: this.repository.repositoryUri },
          KINTO_BASE_IMAGE: { value: props.baseImage ?? 'public.ecr.aws/docker/library/node:22-bookworm-slim' },
          KINTO_LAMBDA_ADAPTER_IMAGE: { value: props.lambdaAdapterImage ?? 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1' },
          KINTO_JOB_RUNNER_S3_URL: { value: this.jobRunner.s3ObjectUrl },
          KINTO_REQUEST_GUARD_S3_URL: { value: this.requestGuard.s3ObjectUrl },
        },
      },
      timeout: buildTimeout,
      queuedTimeout: Duration.hours(1),
      concurrentBuildLimit,
      logging: { cloudWatch: { logGroup: this.buildLogs } },
    });
    this.repository.grantPullPush(this.project);
    // These two objects, not the whole assets bucket (Asset.grantRead): the build needs nothing else there.
    this.project.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadImagePrograms',
        actions: ['s3:GetObject'],
        resources: [this.jobRunner, this.requestGuard].map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
      }),
    );

    this.deadLetterQueue = new sqs.Queue(this, 'EventsDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.eventsHandler = new KintoFunction(this, 'EventsHandler', {
      entry: handlerEntry('build-events'),
      description: 'Kinto build-events: CodeBuild build state changes -> build status in the state table',
      timeout: Duration.seconds(30),
      logRetention: props.logRetention,
      environment: { STATE_TABLE_NAME: props.stateTable.table.tableName },
      deadLetterQueue: this.deadLetterQueue,
    });
    const fn = this.eventsHandler.function;
    // recordBuildEvent reads the build and writes it back conditionally: nothing else.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'BuildItems',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [props.stateTable.table.tableArn],
      }),
    );
    // Exported variables (commit, image digest) are not in the event; BatchGetBuilds has them.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadBuilds', actions: ['codebuild:BatchGetBuilds'], resources: [this.project.projectArn] }),
    );

    this.project.onStateChange('StateChange', {
      description: "Kinto: the build project's state changes -> build-events Lambda",
      target: new targets.LambdaFunction(fn, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      }),
    });

    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB4',
      reason:
        'The project has no source and no artifacts (NO_SOURCE/NO_ARTIFACTS): it only pushes images to ECR, which encrypts them (AES-256). ' +
        'A customer managed KMS key would cost $1/month while idle and protect nothing the project stores.',
    });
    // cdk-nag names a finding after the resource's logical id, as in `<BuildsProject6967A60F>`.
    const projectRef = `<${Stack.of(this).getLogicalId(this.project.node.defaultChild as codebuild.CfnProject)}>`;
    Validations.of(this.project).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/${projectRef}:*]`,
      reason:
        "codebuild.Project always grants its default log group's streams (/aws/codebuild/<project>:*); builds write to the explicit BuildLogs group instead, " +
        'so this grant reaches a log group that never exists.',
    });
    Validations.of(this.project).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/${projectRef}-*]`,
      reason:
        'codebuild.Project always grants test-report groups named after the project (<project>-*); buildspec.yml declares no reports, so none is created.',
    });
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken (docker login) has no resource-level permissions and must be granted on "*" (added by repository.grantPullPush).',
    });
  }
}

/**
 * A buildspec given as text, rendered verbatim into the project (a NO_SOURCE project needs it
 * inline). Reading the file at synth time keeps buildspec.yml the one source, and the template
 * shows exactly what runs.
 */
class InlineBuildSpec extends codebuild.BuildSpec {
  public readonly isImmediate = true;

  constructor(private readonly text: string) {
    super();
    if (!/^version:\s*0\.2\s*$/m.test(text)) throw new Error('the buildspec must declare "version: 0.2"');
  }

  public toBuildSpec(): string {
    return this.text;
  }
}
