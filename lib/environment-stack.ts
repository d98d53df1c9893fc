import {
  Aws,
  BootstraplessSynthesizer,
  CfnOutput,
  CfnParameter,
  CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib/core';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { basicAuthStageVariable, encodeBasicAuthStageValue } from '../lambdas/adapters/aws/basic-auth-stage-value';
import { fargateSize } from '../lambdas/adapters/aws/services/fargate-size';
import {
  dataRootOf,
  DEFAULT_SERVICE_IDLE_SECONDS,
  DEFAULT_SERVICE_PORT,
  discoveryNameOf,
  MIN_SERVICE_IDLE_SECONDS_ON_AWS,
  posixIdOf,
  SERVICE_DATA_DIR,
  SERVICE_TAGS,
  serviceNameOf,
  serviceVariablesOf,
  WAKER_FILTER_NAME,
  WAKER_FILTER_PATTERN,
} from '../lambdas/adapters/aws/services/service-names';
import { serviceRefsProblems, type ServicePlatformRefs } from '../lambdas/adapters/aws/services/service-refs';
import {
  LIVE_ALIAS,
  functionNameOf,
  stackNameOf,
  stackOutputs,
  stackParameters,
  type EnvironmentBlock,
  type EnvironmentDescription,
} from '../lambdas/adapters/aws/runtime/environment-description';
import { blockUrlVariable } from '../lambdas/core/auth/internal-entry';
import { blockLogGroupName, gatewayLogGroupName } from '../lambdas/core/logs/log-groups';
import { DEFAULT_METRICS_NAMESPACE } from '../lambdas/handlers/logs/log-indexer-env';
import { accessLogFormatOf } from '../lambdas/adapters/aws/runtime/access-log-format-of';

/**
 * Header that carries client tokens (the same as `TOKEN_IDENTITY_SOURCE` in gateway-authorizer.ts,
 * which a test checks): not imported from there, so that the deployer's bundle does not pull in
 * all of aws-cdk-lib through its root module.
 */
export const TOKEN_IDENTITY_SOURCE = '$request.header.Kinto-Authorization';

/** Header browsers send basic-auth credentials in (password-protected websites). */
export const BASIC_AUTH_IDENTITY_SOURCE = '$request.header.Authorization';

/**
 * Stage variables the platform's authorizer and gateway function read: the environment id (tokens'
 * audience is checked against it), and per password-protected website `basicAuthStageVariable`
 * (lambdas/adapters/aws/basic-auth-stage-value.ts).
 */
export const STAGE_VARIABLES = {
  envId: 'kintoEnvironmentId',
} as const;

/** Response status codes whose answers get `kinto-request-id` (API Gateway maps responses per status code). */
export const REQUEST_ID_STATUS_CODES = [200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504] as const;

/** CloudFormation's limit of resources per stack. */
export const MAX_STACK_RESOURCES = 500;
/** API Gateway's default quota of routes per HTTP API (can be raised) and its hard limit of integrations. */
export const MAX_API_ROUTES = 300;
export const MAX_API_INTEGRATIONS = 300;
/** CloudFormation's limit of parameters per template. */
export const MAX_TEMPLATE_PARAMETERS = 200;
/** Lambda's limit on the total size of a function's environment variables. */
export const MAX_FUNCTION_ENVIRONMENT_BYTES = 4096;
/** API Gateway's limit on an HTTP API stage's access-log format. */
export const MAX_ACCESS_LOG_FORMAT_BYTES = 3072;

/** HTTP requests reach a block for at most this long: API Gateway's integration limit. */
const HTTP_TIMEOUT = Duration.seconds(30);
const DEFAULT_JOB_TIMEOUT_SECONDS = 900;
/** Longest an `https://<api id>.execute-api.<region>.<url suffix>` endpoint resolves to (for size estimates). */
const ENDPOINT_LENGTH_BOUND = 'https://'.length + 10 + '.execute-api.'.length + 14 + 1 + 'amazonaws.com.cn'.length;
/** An internal entry key is base64url of 32 bytes. */
const INTERNAL_KEY_LENGTH = 43;
/** Variables Lambda sets itself and refuses in a function's configuration. */
const LAMBDA_RESERVED_VARIABLES = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);
/** Names the gateway keeps for itself (README, "The control API"). */
const RESERVED_BLOCK_NAMES = new Set(['authorize', 'health', 'kinto']);
const BLOCK_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export interface KintoEnvironmentStackProps {
  /** What the environment runs: its blocks and their configuration (see environment-description.ts). */
  readonly description: EnvironmentDescription;
  /** The deployment this template was made for (stack output `KintoDeployment`). */
  readonly deploymentId: string;
  /** The deployer's fingerprint of the infrastructure (stack output `KintoShape`). */
  readonly shape: string;
  /**
   * How long the environment's log groups (gateway access logs, blocks' output) keep lines in
   * CloudWatch Logs. The requests list reads the logs table (2 days by default), not these groups.
   * @default logs.RetentionDays.TWO_WEEKS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CloudWatch namespace of the log indexer's embedded metrics, which the dashboard graphs.
   * @default 'Kinto' (the log indexer's default)
   */
  readonly metricsNamespace?: string;
}

/** A block's function and the alias routes and invocations go through. */
export interface BlockFunction {
  readonly function: lambda.Function;
  readonly alias: lambda.Alias;
  readonly logGroup: logs.LogGroup;
}

/** A custom service's resources (L1: no lookups, and exactly what the template holds). */
export interface BlockService {
  readonly service: ecs.CfnService;
  readonly taskDefinition: ecs.CfnTaskDefinition;
  /** Its folder of the platform's file system (`/kinto/<envId>/<block>`), as its own POSIX user. */
  readonly accessPoint: efs.CfnAccessPoint;
  /** Admits the environment's blocks (`blocksSecurityGroup`) on the service's port, nothing else. */
  readonly securityGroup: ec2.CfnSecurityGroup;
  /** Its private DNS name, `<block>-<12>.kinto.internal`. */
  readonly discovery: servicediscovery.CfnService;
  readonly logGroup: logs.LogGroup;
  readonly executionRole: iam.Role;
  readonly taskRole: iam.Role;
}

/**
 * Resources a custom service adds to its environment's stack: log group + subscription, execution
 * role, task role, access point, task definition, security group, Cloud Map service, ECS service.
 * The first custom service of an environment also adds the blocks' security group, and each of its
 * functions a second subscription filter (to the waker).
 */
export const RESOURCES_PER_CUSTOM_SERVICE = 9;

/**
 * One environment's CloudFormation stack: its gateway (an HTTP API, its `$default` stage with JSON
 * access logs and throttling, `POST /authorize`), one container-image Lambda function per website,
 * microservice and job with a `live` alias that routes and invocations name, cron schedules
 * (EventBridge Scheduler), log groups subscribed to the platform's log indexer, and a dashboard.
 * Each custom service is a Fargate service in the platform's cluster, asleep at desired count 0
 * (`addCustomService`); an environment that has one puts its functions in the platform's VPC.
 *
 * Environment-agnostic (no account or region lookups) and free of assets, so the deployer can
 * synthesize it anywhere (`synthesizeEnvironment`) and deploy the template with the SDK. What
 * changes with every release without changing the infrastructure (images, alias versions) and
 * secrets are parameters (`stackParameters`). Nothing in it bills while idle but the dashboard
 * beyond CloudWatch's free tier, stored log lines, and custom services a team made `alwaysOn`.
 *
 * Resources: the stack's own 9 (API, stage, gateway log group and subscription, authorize route
 * and integration, dashboard, ...), 14 per public or protected website/microservice, 10 per
 * internal one, 5 per job (6 with a cron schedule), `RESOURCES_PER_CUSTOM_SERVICE` (9) per custom
 * service, plus, with any custom service, 1 security group and 1 waker subscription per function:
 * `checkQuotas` refuses more than CloudFormation's 500.
 *
 * Construct IDs are a contract (logical IDs follow them): rename none once deployed.
 */
export class KintoEnvironmentStack extends Stack {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly gatewayLogGroup: logs.LogGroup;
  public readonly dashboard: cloudwatch.Dashboard;
  /** Each block's function, by block name (none while shut down). */
  public readonly functions: ReadonlyMap<string, BlockFunction>;
  /** Each cron job's schedule, by block name. */
  public readonly schedules: ReadonlyMap<string, scheduler.CfnSchedule>;
  /** Each custom service, by block name (none while shut down). */
  public readonly services: ReadonlyMap<string, BlockService>;
  /**
   * The environment's blocks, in the network: every function (in the VPC) and every service task
   * carries it, and each service admits it alone. Only in environments that have a custom service.
   */
  public readonly blocksSecurityGroup?: ec2.CfnSecurityGroup;
  /** The environment's internal entry key (NoEcho parameter). */
  public readonly internalKey: CfnParameter;

  private readonly description: EnvironmentDescription;
  private readonly logRetention: logs.RetentionDays;
  private readonly blockFunctions = new Map<string, BlockFunction>();
  private readonly cronSchedules = new Map<string, scheduler.CfnSchedule>();
  private readonly blockServices = new Map<string, BlockService>();
  /** Where services run: set when the environment has one (and is not shut down). */
  private readonly serviceRefs?: ServicePlatformRefs;
  private readonly authorizers = new Map<string, apigwv2.CfnAuthorizer>();
  private scheduleRole?: iam.Role;
  private boundary?: iam.IManagedPolicy;

  constructor(scope: Construct, id: string, props: KintoEnvironmentStackProps) {
    const d = props.description;
    validateDescription(id, props);
    super(scope, id, {
      stackName: stackNameOf(d.envId),
      description: `Kinto environment ${d.project}/${d.environment} (${d.envId})`,
      // No assets and no bootstrap version parameter: the deployer deploys the template itself.
      synthesizer: new BootstraplessSynthesizer(),
    });
    this.description = d;
    this.logRetention = props.logRetention ?? logs.RetentionDays.TWO_WEEKS;
    const namespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) {
      throw new Error(
        `KintoEnvironmentStack ${id}: metricsNamespace must be the log indexer's namespace (e.g. "Kinto"), got ${JSON.stringify(namespace)}.`,
      );
    }

    this.internalKey = new CfnParameter(this, stackParameters.internalKey, {
      type: 'String',
      noEcho: true,
      allowedPattern: '^[A-Za-z0-9_-]{16,128}$',
      constraintDescription: "the environment's internal entry key: 16 to 128 base64url characters",
      description: 'Key of the internal entry (/_internal/<key>/<block>/...) through which blocks call each other',
    });

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `kinto-${d.project}-${d.environment}-${d.envId.slice(0, 12)}`,
      description: `Kinto gateway of ${d.project}/${d.environment}`,
      createDefaultStage: false,
      // Functions of an environment with a custom service have IPv6 egress only (in the VPC): they
      // reach each other's KINTO_BLOCK_<NAME>_URL over IPv6 (same host name, AAAA records added).
      ...(customServices(d).length > 0 ? { ipAddressType: apigwv2.IpAddressType.DUAL_STACK } : {}),
    });

    this.gatewayLogGroup = this.logGroup('GatewayLogs', gatewayLogGroupName(d.envId));
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: d.throttle?.rate ?? 100, burstLimit: d.throttle?.burst ?? 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.gatewayLogGroup),
        format: AccessLogFormat.custom(accessLogFormatOf(this.description)),
      },
      stageVariables: stageVariablesOf(d),
    });

    // POST /authorize: the platform's gateway function issues tokens; while shut down it also
    // answers every other request (503).
    const gateway = this.integration('GatewayIntegration', d.platform.gatewayFunctionArn, { clientId: 'remove' });
    this.route(
      'AuthorizeRoute',
      'POST /authorize',
      gateway,
      undefined,
      'POST /authorize is how clients get tokens: it takes a client id and secret, and the platform gateway function checks them (failures throttled per client id).',
    );
    // No permission here: the platform's GatewayFunction lets API Gateway invoke it for these two
    // routes of any API in the account (one statement per environment would fill its policy).

    if (d.shutDown) {
      this.route(
        'ShutDownRoute',
        '$default',
        gateway,
        undefined,
        'A shut-down environment answers every request with 503 from the platform gateway function; no block of it runs, so there is nothing to protect.',
      );
      // Its history stays: each block's log group keeps its construct ID, so nothing is replaced.
      for (const block of d.blocks) {
        const scope = this.blockScope(block);
        this.logGroup('LogGroup', blockLogGroupName(d.envId, block.name), scope);
        // A service's access point stays too (free): its data stays where the runtime can name it.
        if (block.type === 'custom-service' && d.platform.services) this.dataAccessPoint(scope, block, d.platform.services);
      }
    } else {
      if (customServices(d).length > 0) {
        this.serviceRefs = d.platform.services;
        this.blocksSecurityGroup = this.addBlocksSecurityGroup();
      }
      for (const block of d.blocks) this.addBlock(block);
    }
    this.functions = this.blockFunctions;
    this.schedules = this.cronSchedules;
    this.services = this.blockServices;

    this.dashboard = this.addDashboard(namespace);

    new CfnOutput(this, 'GatewayUrlOutput', {
      key: stackOutputs.gatewayUrl,
      value: this.httpApi.apiEndpoint,
      description: "The environment's gateway URL",
    });
    new CfnOutput(this, 'ShapeOutput', {
      key: stackOutputs.shape,
      value: props.shape,
      description: "The deployer's fingerprint of this infrastructure",
    });
    new CfnOutput(this, 'DeploymentOutput', {
      key: stackOutputs.deployment,
      value: props.deploymentId,
      description: 'The deployment this template was made for',
    });

    this.checkQuotas(id);
  }

  /** Adds a block as its type runs; the one place that knows each type. */
  private addBlock(block: EnvironmentBlock): void {
    switch (block.type) {
      case 'website':
      case 'microservice':
        return this.addHttpBlock(block);
      case 'job':
        return this.addJob(block);
      case 'custom-service':
        return this.addCustomService(block);
    }
  }

  /**
   * A custom service: an arm64 Fargate service (CodeBuild builds images on ARM) at desired count 0
   * (the platform's waker raises it to 1 on the environment's traffic, the reaper lowers it when
   * idle; `alwaysOn` keeps 1), its data on its own access point of the platform's file system
   * (`KINTO_DATA_DIR`), its private DNS name (Cloud Map) and a security group that admits the
   * environment's blocks on its port. No load balancer: its task's address is its DNS record.
   */
  private addCustomService(block: EnvironmentBlock): void {
    const d = this.description;
    const refs = this.serviceRefs!;
    const scope = this.blockScope(block);
    const port = block.port ?? DEFAULT_SERVICE_PORT;
    const logGroup = this.logGroup('LogGroup', blockLogGroupName(d.envId, block.name), scope);
    const image = this.imageParameter(block);
    const posixId = posixIdOf(d.envId, block.name);
    const tags = serviceTags(d, block);
    const accessPoint = this.dataAccessPoint(scope, block, refs);

    // ECS pulls the image and writes the log with this role; the task's code never holds it.
    const executionRole = new iam.Role(scope, 'ExecutionRole', {
      description: `Kinto custom service ${d.project}/${d.environment}/${block.name}: ECS pulls its image and writes its log group`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      permissionsBoundary: this.permissionsBoundary(),
      inlinePolicies: {
        PullImageWriteLogs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
            new iam.PolicyStatement({
              actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
              resources: [d.platform.imageRepositoryArn],
            }),
            new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
          ],
        }),
      },
    });
    // What the service's own code may do: mount its access point, nothing else.
    const taskRole = new iam.Role(scope, 'TaskRole', {
      description: `Kinto custom service ${d.project}/${d.environment}/${block.name}: mounts its own data, nothing else`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      permissionsBoundary: this.permissionsBoundary(),
      inlinePolicies: {
        MountOwnData: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
              resources: [refs.fileSystemArn],
              conditions: { StringEquals: { 'elasticfilesystem:AccessPointArn': accessPoint.attrArn } },
            }),
          ],
        }),
      },
    });

    const size = fargateSize(block.memoryMb);
    const environment = this.serviceEnvironment(block, port);
    const taskDefinition = new ecs.CfnTaskDefinition(scope, 'TaskDefinition', {
      family: serviceNameOf(d.envId, block.name),
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      // Images are built on ARM by CodeBuild (buildspec.yml): Graviton, about 20% less per hour.
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      cpu: String(size.cpu),
      memory: String(size.memoryMb),
      executionRoleArn: executionRole.roleArn,
      taskRoleArn: taskRole.roleArn,
      volumes: [
        {
          name: 'data',
          efsVolumeConfiguration: {
            filesystemId: refs.fileSystemId,
            transitEncryption: 'ENABLED',
            authorizationConfig: { accessPointId: accessPoint.attrAccessPointId, iam: 'ENABLED' },
          },
        },
      ],
      containerDefinitions: [
        {
          name: 'service',
          image: image.valueAsString,
          essential: true,
          // An unprivileged user of its own, as locally (and the owner of its data folder).
          user: `${posixId}:${posixId}`,
          portMappings: [{ containerPort: port, protocol: 'tcp' }],
          environment: Object.entries(environment)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([name, value]) => ({ name, value })),
          mountPoints: [{ sourceVolume: 'data', containerPath: SERVICE_DATA_DIR, readOnly: false }],
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': logGroup.logGroupName, 'awslogs-region': Aws.REGION, 'awslogs-stream-prefix': 'service' },
          },
          // SIGTERM, then this long before SIGKILL: a database flushes (Fargate allows up to 120 s).
          stopTimeout: 30,
        },
      ],
      tags,
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        "A block's variables are its configuration, as a Lambda function's are: secret ones come from NoEcho parameters, so they are not in the template, but whoever may describe the task definition reads them, as with a function's configuration.",
    });

    const securityGroup = new ec2.CfnSecurityGroup(scope, 'SecurityGroup', {
      groupDescription: `Kinto custom service ${d.project}/${d.environment}/${block.name}: TCP ${port} from the blocks of the environment only`,
      vpcId: refs.vpcId,
      securityGroupIngress: [
        {
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          sourceSecurityGroupId: this.blocksSecurityGroup!.attrGroupId,
          description: `The blocks of ${d.project}/${d.environment}`,
        },
      ],
      // Image pulls and logs (IPv4, through its public address), EFS, and whatever the service calls.
      securityGroupEgress: ALL_EGRESS,
    });

    const discovery = new servicediscovery.CfnService(scope, 'DiscoveryService', {
      name: discoveryNameOf(d.envId, block.name),
      namespaceId: refs.namespaceId,
      description: `Kinto custom service ${d.project}/${d.environment}/${block.name}`,
      // The task's address while it runs (none while it sleeps); a short TTL finds a woken one soon.
      dnsConfig: { routingPolicy: 'MULTIVALUE', dnsRecords: [{ type: 'A', ttl: 10 }] },
      // ECS reports the task healthy once it runs: the name resolves only then.
      healthCheckCustomConfig: { failureThreshold: 1 },
    });

    const service = new ecs.CfnService(scope, 'Service', {
      serviceName: serviceNameOf(d.envId, block.name),
      cluster: refs.clusterArn,
      taskDefinition: taskDefinition.ref,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      // Asleep until its environment is used (a deploy that changes it puts it back to sleep).
      desiredCount: block.alwaysOn ? 1 : 0,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...refs.taskSubnetIds],
          securityGroups: [securityGroup.attrGroupId, this.blocksSecurityGroup!.attrGroupId, refs.tasksSecurityGroupId],
          // To pull from ECR and write logs without a NAT gateway; billed only while the task runs.
          assignPublicIp: 'ENABLED',
        },
      },
      serviceRegistries: [{ registryArn: discovery.attrArn }],
      // One task at a time on the data: the old one stops before a new one starts.
      deploymentConfiguration: {
        minimumHealthyPercent: 0,
        maximumPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      tags,
    });
    this.blockServices.set(block.name, {
      service,
      taskDefinition,
      accessPoint,
      securityGroup,
      discovery,
      logGroup,
      executionRole,
      taskRole,
    });
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "ecr:GetAuthorizationToken has no resource-level permissions (it issues a registry login); the image layers are pulled from the platform repository only, and logs go to this service's log group only.",
    });
  }

  /**
   * A service's folder of the platform's file system, `/kinto/<envId>/<block>`, owned by and
   * accessed as its own POSIX user; tagged with its environment and block. It goes with the
   * stack, the folder does not (deleting an access point deletes no data): a deleted
   * environment's data is found and deleted by its folder (lib/service-data-function.ts).
   */
  private dataAccessPoint(scope: Construct, block: EnvironmentBlock, refs: ServicePlatformRefs): efs.CfnAccessPoint {
    const d = this.description;
    const posixId = String(posixIdOf(d.envId, block.name));
    return new efs.CfnAccessPoint(scope, 'DataAccessPoint', {
      fileSystemId: refs.fileSystemId,
      // Every file operation through it is this user's, whatever user the container runs as.
      posixUser: { uid: posixId, gid: posixId },
      rootDirectory: {
        path: dataRootOf(d.envId, block.name),
        creationInfo: { ownerUid: posixId, ownerGid: posixId, permissions: '750' },
      },
      accessPointTags: [
        { key: 'Name', value: `kinto ${d.project}/${d.environment}/${block.name}` },
        { key: SERVICE_TAGS.envId, value: d.envId },
        { key: SERVICE_TAGS.block, value: block.name },
      ],
    });
  }

  /** The blocks of this environment, as a security group: egress anywhere (IPv4 and IPv6), no ingress. */
  private addBlocksSecurityGroup(): ec2.CfnSecurityGroup {
    const d = this.description;
    return new ec2.CfnSecurityGroup(this, 'BlocksSecurityGroup', {
      groupDescription: `Kinto ${d.project}/${d.environment}: the blocks of the environment (its custom services admit this group)`,
      vpcId: this.serviceRefs!.vpcId,
      securityGroupEgress: ALL_EGRESS,
    });
  }

  /**
   * A service's variables: its own, its secrets, what every block of the environment gets (gateway
   * URL, blocks' URLs, services' hosts and ports), then `PORT` and `KINTO_DATA_DIR`.
   */
  private serviceEnvironment(block: EnvironmentBlock, port: number): Record<string, string> {
    return { ...this.functionEnvironment(block), PORT: String(port), KINTO_DATA_DIR: SERVICE_DATA_DIR };
  }

  /** A website or microservice: its function, and the routes that reach it. */
  private addHttpBlock(block: EnvironmentBlock): void {
    const scope = this.blockScope(block);
    const fn = this.addFunction(scope, block, HTTP_TIMEOUT);
    fn.alias.addPermission('InvokeFromGateway', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.executeApiArn('*'),
    });

    if (block.visibility !== 'internal') {
      const authorizer = this.authorizerFor(block);
      const clientId = block.visibility === 'protected' ? 'authorizer' : 'remove';
      const reason = `Block "${block.name}" is public by the team's choice (visibility "public": webhooks, public pages); anyone may call it, as on the local gateway.`;
      // `/<block>` and `/<block>/...` reach the block as `/` and `/...`, as on the local gateway.
      const root = this.integration('RootIntegration', fn.alias.functionArn, { clientId, path: '/' }, scope);
      const proxy = this.integration('ProxyIntegration', fn.alias.functionArn, { clientId, path: '/$request.path.proxy' }, scope);
      this.route('RootRoute', `ANY /${block.name}`, root, authorizer, reason, scope);
      this.route('ProxyRoute', `ANY /${block.name}/{proxy+}`, proxy, authorizer, reason, scope);
    }

    // The internal entry: blocks of this environment call each other (internal ones included)
    // through KINTO_BLOCK_<NAME>_URL, bare (the block's `/`) or with a path; the key is in the route
    // and never reaches the block.
    const entry = Fn.join('', ['ANY /_internal/', this.internalKey.valueAsString, `/${block.name}`]);
    const keyed = `The internal entry of block "${block.name}" is reached only with the environment's internal key in the path (a NoEcho parameter, 256 bits, per environment), which only the environment's own blocks hold.`;
    const internalRoot = this.integration('InternalRootIntegration', fn.alias.functionArn, { clientId: 'remove', path: '/' }, scope);
    const internal = this.integration(
      'InternalIntegration',
      fn.alias.functionArn,
      { clientId: 'remove', path: '/$request.path.proxy' },
      scope,
    );
    this.route('InternalRootRoute', entry, internalRoot, undefined, keyed, scope);
    this.route('InternalRoute', Fn.join('', [entry, '/{proxy+}']), internal, undefined, keyed, scope);
  }

  /** A job: its function (the deployer invokes it), and a schedule if it is a cron job. */
  private addJob(block: EnvironmentBlock): void {
    const scope = this.blockScope(block);
    this.addFunction(scope, block, Duration.seconds(block.timeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS));
    if (block.kind !== 'cron') return;
    const d = this.description;
    // The deployer records the run and invokes the job (one run at a time, as locally).
    const schedule = new scheduler.CfnSchedule(scope, 'Schedule', {
      name: functionNameOf(d.envId, block.name),
      description: `Kinto cron job ${d.project}/${d.environment}/${block.name}: ${block.schedule}`,
      scheduleExpression: eventBridgeCron(block.schedule ?? ''),
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: d.platform.deployerFunctionArn,
        roleArn: this.scheduleInvokeRole().roleArn,
        input: JSON.stringify({ kind: 'cron', envId: d.envId, job: block.name }),
      },
    });
    this.cronSchedules.set(block.name, schedule);
  }

  /** A block's image, by digest (parameter `Image<Block>`). */
  private imageParameter(block: EnvironmentBlock): CfnParameter {
    return new CfnParameter(this, stackParameters.image(block.name), {
      type: 'String',
      allowedPattern: '^\\S+@sha256:[0-9a-f]{64}$',
      constraintDescription: 'a container image by digest: <repository URI>@sha256:<64 hex digits>',
      description: `Container image of block ${block.name}`,
    });
  }

  /** Where a block's resources live: `Block-<name>/...` (their logical IDs follow). */
  private blockScope(block: EnvironmentBlock): Construct {
    return new Construct(this, `Block-${block.name}`);
  }

  /** The stack's one role for EventBridge Scheduler: it may invoke the deployer, nothing else. */
  private scheduleInvokeRole(): iam.Role {
    if (this.scheduleRole) return this.scheduleRole;
    const deployer = this.description.platform.deployerFunctionArn;
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      description: `Kinto ${this.description.project}/${this.description.environment}: cron schedules invoke the deployer`,
      // Only schedules of this account may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      permissionsBoundary: this.permissionsBoundary(),
      inlinePolicies: {
        InvokeDeployer: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [deployer] })],
        }),
      },
    });
    return this.scheduleRole;
  }

  /**
   * A block's container-image function (arm64, image and alias version from parameters), its log
   * group subscribed to the indexer, a role that may only write that group, and its `live` alias.
   */
  private addFunction(scope: Construct, block: EnvironmentBlock, timeout: Duration): BlockFunction {
    const d = this.description;
    const logGroup = this.logGroup('LogGroup', blockLogGroupName(d.envId, block.name), scope);
    const image = this.imageParameter(block);
    const version = new CfnParameter(this, stackParameters.version(block.name), {
      type: 'String',
      default: '$LATEST',
      allowedPattern: '^(\\$LATEST|[0-9]+)$',
      constraintDescription: 'a published version number, or $LATEST',
      description: `Version the ${LIVE_ALIAS} alias of block ${block.name} serves`,
    });

    // A role of its own, without AWS managed policies (AWSLambdaBasicExecutionRole would allow
    // writing to any log group); an inline policy keeps it one resource.
    const refs = this.serviceRefs;
    const role = new iam.Role(scope, 'Role', {
      description: `Kinto block ${d.project}/${d.environment}/${block.name}: writes its log group`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      permissionsBoundary: this.permissionsBoundary(),
      inlinePolicies: {
        WriteLogGroup: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
          ],
        }),
        // In the VPC (the environment has a custom service): Lambda makes its network interfaces with this role.
        ...(refs ? { VpcNetworkInterfaces: new iam.PolicyDocument({ statements: [VPC_ACCESS] }) } : {}),
      },
    });
    if (refs) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "A function in a VPC needs AWSLambdaVPCAccessExecutionRole's network-interface actions, which have no resource-level permissions for the interfaces Lambda makes; the role names nothing else but its own log group.",
      });
    }

    const fn = new lambda.Function(scope, 'Function', {
      functionName: functionNameOf(d.envId, block.name),
      description: `Kinto ${block.type} ${d.project}/${d.environment}/${block.name}`,
      code: new ImageUriCode(image.valueAsString),
      handler: lambda.Handler.FROM_IMAGE,
      runtime: lambda.Runtime.FROM_IMAGE,
      architecture: lambda.Architecture.ARM_64,
      memorySize: block.memoryMb,
      timeout,
      role,
      logGroup,
      environment: this.functionEnvironment(block),
    });
    if (refs) {
      // In the VPC to reach the environment's services: private dual-stack subnets, IPv6 egress
      // through the egress-only internet gateway (IPv4 only with the platform's NAT opt-in).
      (fn.node.defaultChild as lambda.CfnFunction).vpcConfig = {
        subnetIds: [...refs.functionSubnetIds],
        securityGroupIds: [this.blocksSecurityGroup!.attrGroupId],
        ipv6AllowedForDualStack: true,
      };
      // The waker hears of each invocation as it starts (its START line), to wake the services.
      const waker = new logs.CfnSubscriptionFilter(scope, 'LogGroupToWaker', {
        logGroupName: logGroup.logGroupName,
        filterName: WAKER_FILTER_NAME,
        filterPattern: WAKER_FILTER_PATTERN,
        destinationArn: refs.wakerFunctionArn,
      });
      // CloudWatch Logs refuses two changes to one group's filters at once.
      waker.node.addDependency(scope.node.findChild('LogGroupToIndexer'));
    }
    const alias = new lambda.Alias(scope, 'LiveAlias', {
      aliasName: LIVE_ALIAS,
      version: lambda.Version.fromVersionAttributes(scope, 'LiveVersion', { lambda: fn, version: version.valueAsString }),
    });
    const result = { function: fn, alias, logGroup };
    this.blockFunctions.set(block.name, result);
    return result;
  }

  /**
   * The block's variables, its secrets (each a NoEcho parameter), then what only the stack knows:
   * the gateway URL and `KINTO_BLOCK_<NAME>_URL` of every block the gateway serves (through the
   * internal entry). The deployer's fast path sets the same values (`gatewayVariables`).
   */
  private functionEnvironment(block: EnvironmentBlock): Record<string, string> {
    const env: Record<string, string> = { ...block.variables };
    for (const name of block.secretNames ?? []) {
      env[name] = new CfnParameter(this, stackParameters.secret(block.name, name), {
        type: 'String',
        noEcho: true,
        description: `Secret variable ${name} of block ${block.name}`,
      }).valueAsString;
    }
    Object.assign(env, this.gatewayVariables());
    return env;
  }

  private gatewayVariables(): Record<string, string> {
    const endpoint = this.httpApi.apiEndpoint;
    const vars: Record<string, string> = { KINTO_GATEWAY_URL: endpoint };
    for (const b of servedBlocks(this.description)) {
      vars[blockUrlVariable(b.name)] = Fn.join('', [endpoint, '/_internal/', this.internalKey.valueAsString, `/${b.name}`]);
    }
    // KINTO_BLOCK_<NAME>_HOST / _PORT of each custom service (as `gatewayVariables` in environment-plan.ts).
    return { ...vars, ...serviceVariablesOf(this.description.envId, customServices(this.description)) };
  }

  /**
   * The authorizer of a block's routes: none for public blocks, the token authorizer for protected
   * ones, and for password-protected websites one that is never cached (the password is checked
   * on every request; with a token too when the website is also protected).
   */
  private authorizerFor(block: EnvironmentBlock): apigwv2.CfnAuthorizer | undefined {
    const basic = block.type === 'website' && block.basicAuth !== undefined;
    if (block.visibility === 'public' && !basic) return undefined;
    if (!basic) return this.authorizer('TokenAuthorizer', [TOKEN_IDENTITY_SOURCE], 300);
    if (block.visibility === 'public') return this.authorizer('BasicAuthorizer', [BASIC_AUTH_IDENTITY_SOURCE], 0);
    return this.authorizer('TokenAndBasicAuthorizer', [TOKEN_IDENTITY_SOURCE, BASIC_AUTH_IDENTITY_SOURCE], 0);
  }

  private authorizer(id: string, identitySource: string[], ttlSeconds: number): apigwv2.CfnAuthorizer {
    const known = this.authorizers.get(id);
    if (known) return known;
    const created = new apigwv2.CfnAuthorizer(this, id, {
      apiId: this.httpApi.apiId,
      name: id,
      authorizerType: 'REQUEST',
      authorizerUri: lambdaInvocationUri(this.description.platform.authorizerFunctionArn),
      authorizerPayloadFormatVersion: '2.0',
      enableSimpleResponses: true,
      identitySource,
      authorizerResultTtlInSeconds: ttlSeconds,
    });
    this.authorizers.set(id, created);
    return created;
  }

  /**
   * A Lambda proxy integration (payload 2.0) that sets `kinto-request-id` on the request (the
   * caller's value overwritten) and on the answer, sets or drops `kinto-client-id`, drops the
   * caller's token, and optionally rewrites the path.
   */
  private integration(
    id: string,
    functionArn: string,
    mapping: { clientId: 'authorizer' | 'remove'; path?: string },
    scope: Construct = this,
  ): apigwv2.CfnIntegration {
    const requestParameters: Record<string, string> = {
      'overwrite:header.kinto-request-id': '$context.requestId',
      'remove:header.kinto-authorization': '',
      ...(mapping.clientId === 'authorizer'
        ? { 'overwrite:header.kinto-client-id': '$context.authorizer.clientId' }
        : { 'remove:header.kinto-client-id': '' }),
      ...(mapping.path ? { 'overwrite:path': mapping.path } : {}),
    };
    // The property is untyped in aws-cdk-lib (no name conversion): CloudFormation's own spelling.
    const responseParameters: Record<string, { ResponseParameters: { Destination: string; Source: string }[] }> = {};
    for (const status of REQUEST_ID_STATUS_CODES) {
      responseParameters[String(status)] = {
        ResponseParameters: [{ Destination: 'overwrite:header.kinto-request-id', Source: '$context.requestId' }],
      };
    }
    return new apigwv2.CfnIntegration(scope, id, {
      apiId: this.httpApi.apiId,
      integrationType: 'AWS_PROXY',
      integrationUri: functionArn,
      payloadFormatVersion: '2.0',
      timeoutInMillis: HTTP_TIMEOUT.toMilliseconds(),
      requestParameters,
      responseParameters,
    });
  }

  /** A route; one without an authorizer must say why (the reason acknowledges cdk-nag's APIG4). */
  private route(
    id: string,
    routeKey: string,
    integration: apigwv2.CfnIntegration,
    authorizer: apigwv2.CfnAuthorizer | undefined,
    whyOpen: string | undefined,
    scope: Construct = this,
  ): apigwv2.CfnRoute {
    const route = new apigwv2.CfnRoute(scope, id, {
      apiId: this.httpApi.apiId,
      routeKey,
      target: `integrations/${integration.ref}`,
      ...(authorizer ? { authorizationType: 'CUSTOM', authorizerId: authorizer.ref } : { authorizationType: 'NONE' }),
    });
    if (!authorizer) {
      if (!whyOpen) throw new Error(`KintoEnvironmentStack: route ${id} has no authorizer and no reason why (a bug in the stack).`);
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: whyOpen });
    }
    return route;
  }

  /** A log group of the environment, subscribed to the platform's log indexer. */
  private logGroup(id: string, logGroupName: string, scope: Construct = this): logs.LogGroup {
    const group = new logs.LogGroup(scope, id, {
      logGroupName,
      retention: this.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The indexer already lets CloudWatch Logs invoke it for /kinto/env/* (LogIndexer): no permission here.
    new logs.CfnSubscriptionFilter(scope, `${id}ToIndexer`, {
      logGroupName: group.logGroupName,
      filterName: 'kinto-log-indexer',
      filterPattern: '',
      destinationArn: this.description.platform.logIndexerFunctionArn,
    });
    return group;
  }

  /**
   * Per website and microservice: requests and errors, duration percentiles, cold starts, from
   * the embedded metrics the log indexer writes (namespace, `EnvId` + `Block`).
   */
  private addDashboard(namespace: string): cloudwatch.Dashboard {
    const d = this.description;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: dashboardNameOf(d),
      defaultInterval: Duration.hours(24),
    });
    const served = servedBlocks(d);
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# Kinto ${d.project} / ${d.environment}\n` +
          `Release ${d.release ?? '(none)'}${d.shutDown ? ' (shut down)' : ''}. Requests, errors, latency and cold starts per block, from the log indexer's metrics.` +
          (served.length === 0 ? '\n\nNo website or microservice in this environment.' : ''),
        width: 24,
        height: 2,
      }),
    );
    const period = Duration.minutes(5);
    for (const block of served) {
      const metric = (metricName: string, statistic: string, label: string) =>
        new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { EnvId: d.envId, Block: block.name }, statistic, period, label });
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${block.name}: requests and errors`,
          left: [metric('Requests', 'Sum', 'requests'), metric('Errors4xx', 'Sum', '4xx'), metric('Errors5xx', 'Sum', '5xx')],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: `${block.name}: duration (ms)`,
          left: [metric('Duration', 'p50', 'p50'), metric('Duration', 'p95', 'p95'), metric('Duration', 'p99', 'p99')],
          width: 8,
        }),
        new cloudwatch.GraphWidget({ title: `${block.name}: cold starts`, left: [metric('ColdStarts', 'Sum', 'cold starts')], width: 8 }),
      );
    }
    return dashboard;
  }

  private permissionsBoundary(): iam.IManagedPolicy | undefined {
    const arn = this.description.platform.permissionsBoundaryArn;
    if (!arn) return undefined;
    this.boundary ??= iam.ManagedPolicy.fromManagedPolicyArn(this, 'PermissionsBoundary', arn);
    return this.boundary;
  }

  /** `arn:...:execute-api:<region>:<account>:<api id>/<path>`: this API only. */
  private executeApiArn(path: string): string {
    return `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${this.httpApi.apiId}/${path}`;
  }

  /** CloudFormation, API Gateway and Lambda limits, checked here so a deploy never meets them half-way. */
  private checkQuotas(id: string): void {
    const d = this.description;
    const resources = this.node.findAll().filter((c) => CfnResource.isCfnResource(c)).length;
    if (resources > MAX_STACK_RESOURCES) {
      throw new Error(
        `KintoEnvironmentStack ${id}: environment ${d.project}/${d.environment} needs ${resources} CloudFormation resources, but one stack holds at most ${MAX_STACK_RESOURCES}. ` +
          'Split its blocks across two environments, or make some websites/microservices internal (fewer routes each).',
      );
    }
    const parameters = this.node.findAll().filter((c) => c instanceof CfnParameter).length;
    if (parameters > MAX_TEMPLATE_PARAMETERS) {
      throw new Error(
        `KintoEnvironmentStack ${id}: environment ${d.project}/${d.environment} needs ${parameters} template parameters (an image and a version per function, one per secret variable), but CloudFormation allows ${MAX_TEMPLATE_PARAMETERS}. ` +
          'Use fewer secret variables (one secret can hold several values as JSON) or split the blocks across two environments.',
      );
    }
    const routes = this.node.findAll().filter((c) => c instanceof apigwv2.CfnRoute).length;
    const integrations = this.node.findAll().filter((c) => c instanceof apigwv2.CfnIntegration).length;
    if (routes > MAX_API_ROUTES || integrations > MAX_API_INTEGRATIONS) {
      throw new Error(
        `KintoEnvironmentStack ${id}: environment ${d.project}/${d.environment} needs ${routes} routes and ${integrations} integrations; an HTTP API allows ${MAX_API_ROUTES} routes (by default) and ${MAX_API_INTEGRATIONS} integrations. Split its blocks across two environments.`,
      );
    }
    const format = Buffer.byteLength(accessLogFormatOf(this.description), 'utf8');
    if (format > MAX_ACCESS_LOG_FORMAT_BYTES) {
      throw new Error(
        `KintoEnvironmentStack ${id}: the access-log format of ${d.project}/${d.environment} is ${format} bytes (release and each served block's commit), over API Gateway's ${MAX_ACCESS_LOG_FORMAT_BYTES}. Use shorter block names or fewer blocks in one environment.`,
      );
    }
  }
}

/**
 * `lambda.Code` for an image given by URI (here a parameter): the function pulls it from the
 * platform's repository, whose policy lets Lambda read it.
 */
class ImageUriCode extends lambda.Code {
  public readonly isInline = false;

  constructor(private readonly imageUri: string) {
    super();
  }

  bind(): lambda.CodeConfig {
    return { image: { imageUri: this.imageUri } };
  }
}

/** `kintoEnvironmentId`, and one `kintoBasicAuth_<block>` per password-protected website the gateway routes to. */
function stageVariablesOf(d: EnvironmentDescription): Record<string, string> {
  const vars: Record<string, string> = { [STAGE_VARIABLES.envId]: d.envId };
  if (d.shutDown) return vars;
  for (const b of servedBlocks(d)) {
    if (b.type !== 'website' || !b.basicAuth || b.visibility === 'internal') continue;
    vars[basicAuthStageVariable(b.name)] = encodeBasicAuthStageValue({
      username: b.basicAuth.username,
      passwordHash: b.basicAuth.passwordHash,
      visibility: b.visibility,
    });
  }
  return vars;
}

/** The blocks the gateway routes to (websites and microservices, internal ones through the internal entry). */
function servedBlocks(d: EnvironmentDescription): EnvironmentBlock[] {
  return d.blocks.filter((b) => b.type === 'website' || b.type === 'microservice');
}

/** The environment's custom services. */
function customServices(d: EnvironmentDescription): EnvironmentBlock[] {
  return d.blocks.filter((b) => b.type === 'custom-service');
}

/** Egress anywhere, IPv4 and IPv6 (an L1 group without rules would get IPv4 only). */
const ALL_EGRESS: ec2.CfnSecurityGroup.EgressProperty[] = [
  { ipProtocol: '-1', cidrIp: '0.0.0.0/0', description: 'Any IPv4 destination' },
  { ipProtocol: '-1', cidrIpv6: '::/0', description: 'Any IPv6 destination' },
];

/** AWSLambdaVPCAccessExecutionRole's network-interface actions, without its log rights: Lambda makes a VPC function's interfaces with its role. */
export const VPC_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

const VPC_ACCESS = new iam.PolicyStatement({ actions: VPC_NETWORK_INTERFACE_ACTIONS, resources: ['*'] });

/** The tags the waker and reaper read (and, but for the last two, the access point carries). */
function serviceTags(d: EnvironmentDescription, block: EnvironmentBlock): { key: string; value: string }[] {
  const idle = Math.max(MIN_SERVICE_IDLE_SECONDS_ON_AWS, block.idleSeconds ?? DEFAULT_SERVICE_IDLE_SECONDS);
  return [
    { key: SERVICE_TAGS.envId, value: d.envId },
    { key: SERVICE_TAGS.block, value: block.name },
    { key: SERVICE_TAGS.idleSeconds, value: String(idle) },
    { key: SERVICE_TAGS.alwaysOn, value: block.alwaysOn ? 'true' : 'false' },
  ];
}

/** `Kinto-<project>-<environment>-<first 8 of the id>`: unique per account, within CloudWatch's 255 characters. */
export function dashboardNameOf(d: Pick<EnvironmentDescription, 'project' | 'environment' | 'envId'>): string {
  return `Kinto-${d.project}-${d.environment}-${d.envId.slice(0, 8)}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 255);
}

function lambdaInvocationUri(functionArn: string): string {
  return `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${functionArn}/invocations`;
}

/** Size of a function's environment as Lambda counts it, with tokens at the longest they resolve to. */
function environmentBytesBound(d: EnvironmentDescription, block: EnvironmentBlock): number {
  let bytes = 0;
  const add = (name: string, valueBytes: number) => (bytes += Buffer.byteLength(name, 'utf8') + valueBytes);
  for (const [name, value] of Object.entries(block.variables)) add(name, Buffer.byteLength(value, 'utf8'));
  // Secret values are unknown here (parameters): their names count, and Lambda checks the rest at deploy.
  for (const name of block.secretNames ?? []) add(name, 0);
  add('KINTO_GATEWAY_URL', ENDPOINT_LENGTH_BOUND);
  for (const b of servedBlocks(d))
    add(blockUrlVariable(b.name), ENDPOINT_LENGTH_BOUND + '/_internal/'.length + INTERNAL_KEY_LENGTH + 1 + b.name.length);
  for (const [name, value] of Object.entries(serviceVariablesOf(d.envId, customServices(d)))) add(name, Buffer.byteLength(value, 'utf8'));
  return bytes;
}

/** Every check that needs only the description; messages say the value and the fix. */
function validateDescription(id: string, props: KintoEnvironmentStackProps): void {
  const d = props.description;
  const fail = (message: string): never => {
    throw new Error(`KintoEnvironmentStack ${id}: ${message}`);
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(d.envId))
    fail(`envId must be 1 to 64 letters, digits or hyphens (it names the stack and log groups), got ${JSON.stringify(d.envId)}.`);
  for (const [what, name] of [
    ['project', d.project],
    ['environment', d.environment],
  ] as const) {
    if (!BLOCK_NAME.test(name) || name.length > 32)
      fail(`${what} must be a Kinto name (lower-case letters, digits and single hyphens, at most 32), got ${JSON.stringify(name)}.`);
  }
  for (const [what, value] of [
    ['deploymentId', props.deploymentId],
    ['shape', props.shape],
  ] as const) {
    if (!/^[\x21-\x7e]{1,256}$/.test(value))
      fail(`${what} must be 1 to 256 printable characters without spaces (a stack output), got ${JSON.stringify(value)}.`);
  }
  for (const [what, arn] of Object.entries(d.platform)) {
    if (what === 'services') continue;
    if (typeof arn !== 'string' || !/^arn:aws[a-z-]*:/.test(arn))
      fail(`platform.${what} must be an ARN (from the platform stack's outputs), got ${JSON.stringify(arn)}.`);
  }
  if (!d.shutDown && d.blocks.some((b) => b.type === 'custom-service') && !d.platform.services)
    fail(
      'it has a custom service, which runs on Fargate in the platform cluster, but platform.services is missing: the platform this deployer belongs to predates custom services on AWS. Update the platform (npx cdk deploy), then deploy again.',
    );
  if (d.platform.services) {
    const problems = serviceRefsProblems(d.platform.services);
    if (problems.length) fail(`platform.services: ${problems.join('; ')}.`);
  }

  if (d.throttle) {
    const { rate, burst } = d.throttle;
    if (!(rate > 0) || !Number.isInteger(burst) || burst < 1)
      fail(`throttle needs rate > 0 and a whole burst >= 1, got ${JSON.stringify(d.throttle)}.`);
  }
  const seen = new Set<string>();
  for (const b of d.blocks) {
    const where = `block ${JSON.stringify(b.name)}`;
    if (!BLOCK_NAME.test(b.name) || b.name.length > 32)
      fail(`${where}: a block name is lower-case letters, digits and single hyphens, starting with a letter, at most 32 characters.`);
    if (RESERVED_BLOCK_NAMES.has(b.name))
      fail(`${where}: the name is reserved for the gateway (${[...RESERVED_BLOCK_NAMES].join(', ')}); rename the block.`);
    if (seen.has(b.name)) fail(`${where} appears twice; block names are unique in an environment.`);
    seen.add(b.name);
    if (!['website', 'microservice', 'custom-service', 'job'].includes(b.type))
      fail(`${where}: unknown type ${JSON.stringify(b.type)} (website, microservice, custom-service or job).`);
    if (!['protected', 'public', 'internal'].includes(b.visibility))
      fail(`${where}: visibility must be protected, public or internal, got ${JSON.stringify(b.visibility)}.`);
    if (!Number.isInteger(b.memoryMb) || b.memoryMb < 128 || b.memoryMb > 10_240)
      fail(`${where}: memoryMb must be a whole number from 128 to 10240 (Lambda's range), got ${b.memoryMb}.`);
    if (b.type === 'custom-service') {
      const port = b.port ?? DEFAULT_SERVICE_PORT;
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        fail(`${where}: port must be a whole number from 1 to 65535 (the port the service listens on), got ${port}.`);
      if (b.idleSeconds !== undefined && (!Number.isInteger(b.idleSeconds) || b.idleSeconds < 1 || b.idleSeconds > 86_400))
        fail(`${where}: idleSeconds must be a whole number of seconds from 1 to 86400, got ${b.idleSeconds}.`);
    }
    if (b.type === 'job') {
      const t = b.timeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS;
      if (!Number.isInteger(t) || t < 1 || t > 900)
        fail(`${where}: timeoutSeconds must be a whole number from 1 to 900 (Lambda's limit), got ${t}.`);
      if (b.kind === 'cron') {
        if (!b.schedule) fail(`${where} is a cron job without a schedule; give it a 5-field cron expression (UTC).`);
        else {
          try {
            eventBridgeCron(b.schedule);
          } catch (e) {
            fail(`${where}: ${(e as Error).message}`);
          }
        }
      } else if (b.schedule)
        fail(`${where} has a schedule but is a ${b.kind ?? 'job'} job, not a cron job; remove the schedule or make it kind "cron".`);
    }
    if (b.basicAuth) {
      if (b.type !== 'website') fail(`${where}: only websites can have a password (basicAuth); it is a ${b.type}.`);
      if (!b.basicAuth.username || /[:\s]/.test(b.basicAuth.username))
        fail(`${where}: basicAuth.username must be non-empty, without ':' or spaces.`);
      if (!/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/.test(b.basicAuth.passwordHash))
        fail(`${where}: basicAuth.passwordHash must be a scrypt hash from hashPassword (scrypt$N$r$p$salt$hash), never a password.`);
      const value = encodeBasicAuthStageValue({ ...b.basicAuth, visibility: 'protected' });
      if (value.length > 512)
        fail(`${where}: the username makes its stage variable ${value.length} characters, over API Gateway's 512; use a shorter username.`);
    }
    const names = [...Object.keys(b.variables), ...(b.secretNames ?? [])];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) fail(`${where}: variable ${dup} is both plain and secret (or given twice); keep one.`);
    for (const name of names) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        fail(`${where}: variable name ${JSON.stringify(name)} must be letters, digits and underscores, not starting with a digit.`);
      if (b.type !== 'custom-service' && LAMBDA_RESERVED_VARIABLES.has(name))
        fail(`${where}: variable ${name} is reserved by Lambda (it sets it itself); rename it.`);
      // The image routes the Web Adapter through the request guard with these; a block's value would bypass it.
      if ((b.type === 'website' || b.type === 'microservice') && (name === 'PORT' || name.startsWith('AWS_LWA_')))
        fail(`${where}: variable ${name} is set by the platform (the Web Adapter and Kinto's request guard); rename it.`);
    }
  }
  if (!d.shutDown) {
    for (const b of d.blocks) {
      if (b.type === 'custom-service') continue;
      const bytes = environmentBytesBound(d, b);
      if (bytes > MAX_FUNCTION_ENVIRONMENT_BYTES) {
        fail(
          `block ${JSON.stringify(b.name)}: its environment variables take up to ${bytes} bytes (its variables, plus KINTO_GATEWAY_URL and KINTO_BLOCK_<NAME>_URL of ${servedBlocks(d).length} websites/microservices), over Lambda's ${MAX_FUNCTION_ENVIRONMENT_BYTES}. ` +
            'Use fewer or shorter variables, or split the blocks across two environments.',
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cron: Unix 5-field expressions (what Kinto accepts, UTC) to EventBridge Scheduler's cron().

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MINUTE: CronField = { name: 'minute', min: 0, max: 59 };
const HOUR: CronField = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: CronField = { name: 'day of month', min: 1, max: 31 };
const MONTH: CronField = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
/** Unix numbering: 0-6 from Sunday, and 7 for Sunday too. */
const DAY_OF_WEEK: CronField = { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] };

/**
 * A Unix cron expression (`minute hour day-of-month month day-of-week`, UTC) as EventBridge
 * Scheduler's `cron(minutes hours day-of-month month day-of-week year)`: one of the day fields
 * becomes `?`, and days of the week count from 1 (Sunday) instead of 0. Throws, saying why, for
 * what EventBridge cannot express, such as both day fields restricted (Unix runs when either
 * matches; EventBridge has no "or").
 *
 * @example eventBridgeCron('0 9 * * 1-5') === 'cron(0 9 ? * 2-6 *)'
 */
export function eventBridgeCron(schedule: string): string {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new Error(
      `the schedule ${JSON.stringify(schedule)} is not a 5-field cron expression (minute hour day-of-month month day-of-week, UTC), e.g. "0 3 * * *".`,
    );
  }
  const [minute, hour, dom, month, dow] = fields;
  const minutes = emitField(parseField(minute, MINUTE), MINUTE, true);
  const hours = emitField(parseField(hour, HOUR), HOUR, true);
  const months = emitField(parseField(month, MONTH), MONTH, true);

  const domSpecial = dom.toUpperCase() === 'L' ? 'L' : undefined;
  const domValues = domSpecial ? undefined : parseField(dom, DAY_OF_MONTH);
  const domRestricted = domSpecial !== undefined || domValues!.size < 31;

  const dowSpecial = /^([0-7]|[A-Za-z]{3})(L|#[1-5])$/.exec(dow);
  let dowOut: string;
  let dowRestricted: boolean;
  if (dowSpecial) {
    dowOut = `${(dayOfWeekNumber(dowSpecial[1], dow) % 7) + 1}${dowSpecial[2]}`;
    dowRestricted = true;
  } else {
    const days = new Set([...parseField(dow, DAY_OF_WEEK)].map((v) => v % 7));
    dowRestricted = days.size < 7;
    // EventBridge: 1-7 from Sunday, and no steps in this field: a list of days and ranges.
    dowOut = emitField(new Set([...days].map((v) => v + 1)), { name: 'day of week', min: 1, max: 7 }, false);
  }
  if (domRestricted && dowRestricted) {
    throw new Error(
      `the schedule ${JSON.stringify(schedule)} restricts both the day of month and the day of week; Unix cron runs when either matches, which EventBridge Scheduler cannot express. Restrict only one of them (or use two cron jobs).`,
    );
  }
  const expression = dowRestricted
    ? `cron(${minutes} ${hours} ? ${months} ${dowOut} *)`
    : `cron(${minutes} ${hours} ${domSpecial ?? emitField(domValues!, DAY_OF_MONTH, true)} ${months} ? *)`;
  if (expression.length > 256) {
    throw new Error(
      `the schedule ${JSON.stringify(schedule)} becomes ${expression.length} characters in EventBridge, over its 256; simplify the lists in it.`,
    );
  }
  return expression;
}

function dayOfWeekNumber(token: string, field: string): number {
  const named = DAY_OF_WEEK.names!.indexOf(token.toUpperCase());
  if (named >= 0) return named;
  const n = Number(token);
  if (!/^\d+$/.test(token) || n > 7)
    throw new Error(`day of week ${JSON.stringify(field)}: ${JSON.stringify(token)} is not a day (0-7 or SUN-SAT).`);
  return n;
}

/** The values a Unix cron field selects: `*`, `?`, numbers, names, `a-b`, lists and `/step`. */
function parseField(text: string, field: CronField): Set<number> {
  const values = new Set<number>();
  const value = (token: string): number => {
    const named = field.names?.indexOf(token.toUpperCase()) ?? -1;
    if (named >= 0) return named + (field === MONTH ? 1 : 0);
    if (!/^\d+$/.test(token)) {
      throw new Error(
        `${field.name} ${JSON.stringify(text)}: ${JSON.stringify(token)} is not supported on AWS (numbers${field.names ? ', names' : ''}, *, lists, ranges and steps are).`,
      );
    }
    const n = Number(token);
    if (n < field.min || n > field.max)
      throw new Error(`${field.name} ${JSON.stringify(text)}: ${n} is outside ${field.min}-${field.max}.`);
    return n;
  };
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${field.name} ${JSON.stringify(text)}: ${JSON.stringify(part)} is not a cron list item.`);
    const [, range, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new Error(`${field.name} ${JSON.stringify(text)}: a step must be at least 1.`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') [from, to] = [field.min, field.max];
    else if (range.includes('-')) {
      const [a, b] = range.split('-');
      [from, to] = [value(a), value(b)];
      if (from > to) throw new Error(`${field.name} ${JSON.stringify(text)}: the range ${range} runs backwards; write it as a list.`);
    } else {
      from = value(range);
      // `a/step` runs from a to the end of the field, as in cron.
      to = stepText === undefined ? from : field.max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** A set of values as EventBridge writes it: `*`, `start/step`, or a list of values and ranges. */
function emitField(values: Set<number>, field: CronField, stepsAllowed: boolean): string {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === field.max - field.min + 1) return '*';
  if (stepsAllowed && sorted.length >= 3) {
    const step = sorted[1] - sorted[0];
    const progression = sorted.every((v, i) => v === sorted[0] + i * step);
    if (step > 1 && progression && sorted[sorted.length - 1] + step > field.max) return `${sorted[0]}/${step}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(',');
}
