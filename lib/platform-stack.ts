import { CfnOutput, Lazy, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BlockCluster } from './block-cluster';
import { BuildPipeline } from './build-pipeline';
import { ConsoleSite } from './console-site';
import { ControlApi, type ControlApiThrottle } from './control-api';
import { EnvironmentDeployer } from './environment-deployer';
import { GatewayAuthorizer } from './gateway-authorizer';
import { GatewayFunction } from './gateway-function';
import { LogIndexer } from './log-indexer';
import { LogsTable } from './logs-table';
import { PlatformDashboard } from './platform-dashboard';
import { PlatformSecrets } from './platform-secrets';
import { ServiceWaker } from './service-waker';
import { StateTable } from './state-table';

export interface KintoPlatformStackProps extends StackProps {
  /**
   * What happens to Kinto's data (state table, image repository) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on the tables (turn off before deleting them on purpose).
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * The built console to deploy, when it exists.
   * @default `console/dist` in the repository
   */
  readonly consoleAssetsPath?: string;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly apiThrottle?: ControlApiThrottle;
  /**
   * Retention of the platform's own log groups (functions, API access logs, builds, flow logs).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /** @default 2 */
  readonly maxAzs?: number;
  /**
   * NAT gateways for IPv4 egress of functions of environments that have a custom service (they
   * have IPv6 egress without one). Each bills about $32.85 a month (us-east-1) whether used or not.
   * @default context `natGateways` (`npx cdk deploy -c natGateways=1`), else 0
   */
  readonly natGateways?: number;
}

/**
 * Kinto's control plane in one stack: state and logs tables, secrets, control API, build
 * pipeline, gateway authorizer, log indexer, Fargate cluster and VPC, console site and dashboard. Environment-agnostic (no account or region
 * lookups), so it synthesizes offline; `cdk deploy` picks the account and region of the caller.
 * Nothing in it bills by the hour while idle except the two secrets (see the README's cost table).
 *
 * Construct IDs are part of the deployed contract: renaming one replaces (or orphans) its resources.
 */
export class KintoPlatformStack extends Stack {
  public readonly stateTable: StateTable;
  public readonly secrets: PlatformSecrets;
  public readonly builds: BuildPipeline;
  public readonly controlApi: ControlApi;
  public readonly blocks: BlockCluster;
  public readonly console: ConsoleSite;
  public readonly dashboard: PlatformDashboard;
  /** The Lambda authorizer environments' gateways use (the deployer attaches it to each HTTP API). */
  public readonly gatewayAuthorizer: GatewayAuthorizer;
  /** Request logs, console lines and metrics of environments (TTL), written by the log indexer. */
  public readonly logsTable: LogsTable;
  /** Indexes environments' log groups into the logs table (the deployer subscribes them). */
  public readonly logIndexer: LogIndexer;
  /** `POST /authorize` of every environment (and 503 while one is shut down). */
  public readonly gatewayFunction: GatewayFunction;
  /** Carries out deployments: the deployer Lambda, its state machine, the environment stacks' role. */
  public readonly deployer: EnvironmentDeployer;
  /** Wakes custom services on their environment's traffic, and puts them back to sleep when idle. */
  public readonly serviceWaker: ServiceWaker;

  constructor(scope: Construct, id: string, props: KintoPlatformStackProps = {}) {
    super(scope, id, { description: 'Kinto: git repos to serverless endpoints (control plane)', ...props });
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const dataRemovalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;

    this.stateTable = new StateTable(this, 'StateTable', {
      deletionProtection: props.deletionProtection,
      removalPolicy: dataRemovalPolicy,
    });
    this.logsTable = new LogsTable(this, 'LogsTable', { deletionProtection: props.deletionProtection, removalPolicy: dataRemovalPolicy });
    this.secrets = new PlatformSecrets(this, 'Secrets');
    this.builds = new BuildPipeline(this, 'Builds', {
      stateTable: this.stateTable,
      repositoryRemovalPolicy: dataRemovalPolicy,
      logRetention,
    });
    this.blocks = new BlockCluster(this, 'Blocks', {
      maxAzs: props.maxAzs,
      flowLogRetention: logRetention,
      natGateways: props.natGateways ?? natGatewaysFromContext(this),
      dataRemovalPolicy,
    });
    this.serviceWaker = new ServiceWaker(this, 'ServiceWaker', { cluster: this.blocks.cluster, logRetention });
    // The API allows the console's origin, and the console's config.json names the API's URL:
    // the distribution does not depend on the API, only the deployment of files does (no cycle).
    this.console = new ConsoleSite(this, 'Console', {
      assetsPath: props.consoleAssetsPath,
      logRetention,
      apiUrl: Lazy.string({ produce: () => this.controlApi.url }),
    });
    this.gatewayAuthorizer = new GatewayAuthorizer(this, 'GatewayAuthorizer', {
      stateTable: this.stateTable.table,
      platformKey: this.secrets.platformKey,
      logRetention,
    });
    Validations.of(this.gatewayAuthorizer).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.stateTable.table.node.defaultChild as CfnTable)}.Arn>/index/*]`,
      reason:
        'Table.grant adds the index ARNs to every grant; the only action granted is dynamodb:GetItem, which reads the base table and cannot act on an index.',
    });
    // Environments' gateways and blocks log to /kinto/env/<envId>/...: the deployer subscribes those
    // groups. The platform's own log groups are not subscribed: the indexer files lines by the
    // environment their group names and discards any other group's batches (paid invocations for nothing).
    this.logIndexer = new LogIndexer(this, 'LogIndexer', { logsTable: this.logsTable.table, logRetention });
    this.gatewayFunction = new GatewayFunction(this, 'GatewayFunction', {
      stateTable: this.stateTable.table,
      platformKey: this.secrets.platformKey,
      logRetention,
    });
    this.deployer = new EnvironmentDeployer(this, 'Deployer', {
      stateTable: this.stateTable,
      platformKey: this.secrets.platformKey,
      imageRepository: this.builds.repository,
      gatewayFunction: this.gatewayFunction.function,
      authorizerFunction: this.gatewayAuthorizer.function,
      logIndexerFunction: this.logIndexer.function,
      logRetention,
      services: this.blocks.serviceRefs(this.serviceWaker.function.functionArn),
      serviceWaker: this.serviceWaker,
    });
    // Lambda pulls block images for environments' functions (and only those).
    this.builds.repository.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'LambdaPullsBlockImages',
        principals: [new iam.ServicePrincipal('lambda.amazonaws.com')],
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        conditions: { StringLike: { 'aws:sourceArn': `arn:${this.partition}:lambda:${this.region}:${this.account}:function:kinto-*` } },
      }),
    );
    this.controlApi = new ControlApi(this, 'ControlApi', {
      stateTable: this.stateTable,
      adminToken: this.secrets.adminToken,
      platformKey: this.secrets.platformKey,
      buildProject: this.builds.project,
      buildLogGroup: this.builds.buildLogs,
      throttle: props.apiThrottle,
      corsOrigins: [this.console.url],
      logsTable: this.logsTable.table,
      logRetention,
      deployer: this.deployer,
      serviceData: this.blocks.serviceData.function,
    });
    this.dashboard = new PlatformDashboard(this, 'Dashboard', {
      controlApi: this.controlApi.httpApi,
      functions: {
        api: this.controlApi.handler.function,
        'build-events': this.builds.eventsHandler.function,
        authorizer: this.gatewayAuthorizer.function,
        'log-indexer': this.logIndexer.function,
        gateway: this.gatewayFunction.function,
        deployer: this.deployer.function,
      },
      tables: { state: this.stateTable.table, logs: this.logsTable.table },
      buildProject: this.builds.project,
      deadLetterQueues: { 'build-events': this.builds.deadLetterQueue, 'log-indexer': this.logIndexer.deadLetterQueue },
    });

    new CfnOutput(this, 'ConsoleUrl', { description: 'The Kinto console', value: this.console.url });
    new CfnOutput(this, 'ControlApiUrl', {
      description: 'The control API (send "Authorization: Bearer <admin token>")',
      value: this.controlApi.url,
    });
    new CfnOutput(this, 'AdminTokenSecretArn', {
      description: 'The Secrets Manager secret holding the admin token',
      value: this.secrets.adminToken.secretArn,
    });
    new CfnOutput(this, 'AdminTokenCommand', {
      description: 'Prints the admin token',
      value: `aws secretsmanager get-secret-value --secret-id ${this.secrets.adminToken.secretArn} --query SecretString --output text`,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: "The platform's CloudWatch dashboard",
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.dashboard.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'ImageRepositoryUri', {
      description: 'Where block images are pushed',
      value: this.builds.repository.repositoryUri,
    });
  }
}

/** `-c natGateways=<n>` on the CDK command line (a string there), as a number; undefined when not given. */
function natGatewaysFromContext(scope: Construct): number | undefined {
  const value: unknown = scope.node.tryGetContext('natGateways');
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new Error(`The natGateways context must be a whole number (e.g. -c natGateways=1), got ${JSON.stringify(value)}.`);
  return n;
}
