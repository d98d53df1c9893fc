import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { ServicePlatformRefs } from '../lambdas/adapters/aws/services/service-refs';
import { handlerEntry, KintoFunction } from './kinto-function';
import type { ServiceWaker } from './service-waker';
import type { StateTable } from './state-table';
import { VPC_NETWORK_INTERFACE_ACTIONS } from './environment-stack';

export interface EnvironmentDeployerProps {
  readonly stateTable: StateTable;
  readonly platformKey: secretsmanager.ISecret;
  /** Where block images are: environment functions run them, so creating or updating one reads them. */
  readonly imageRepository: ecr.IRepository;
  /** The platform's functions every environment stack names (routes, authorizers, log subscriptions). */
  readonly gatewayFunction: lambda.IFunction;
  readonly authorizerFunction: lambda.IFunction;
  readonly logIndexerFunction: lambda.IFunction;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Longest a deployment may take before its execution is abandoned. @default Duration.hours(2) */
  readonly deploymentTimeout?: Duration;
  /**
   * Where custom services run (BlockCluster, ServiceWaker): environment stacks may then make
   * Fargate services, their access points, security groups and Cloud Map names there, and put
   * functions in the VPC. @default - custom services cannot be deployed
   */
  readonly services?: ServicePlatformRefs;
  /**
   * Wakes custom services (with `services`): the deployer wakes an environment's services the same
   * way before a deployment's jobs, with the same rights. @default - services are not woken before jobs
   */
  readonly serviceWaker?: ServiceWaker;
}

/** Environment stacks' names, functions' and schedules' names (environment-description.ts). */
const STACKS = 'kinto-env-*';
/** `kinto-<12 characters of the environment id>-<block>`: `?` matches exactly one character. */
const FUNCTIONS = 'kinto-????????????-*';

/**
 * Carries out deployments on AWS:
 * - the **deployer** Lambda (`lambdas/handlers/deployer.ts`): runs the core's deployment steps,
 *   synthesizes environment stacks (aws-cdk-lib is in its bundle, ~9 MB) and hands them to
 *   CloudFormation, wakes an environment's custom services before a deployment's jobs (as the
 *   service waker does, with its rights), invokes jobs, records cron runs;
 * - a **state machine** per deployment (Standard workflow, named after the deployment): `Advance`
 *   until the deployment ends, waiting between steps for free (CloudFormation and Lambda work
 *   meanwhile) instead of a Lambda waiting for minutes; if it fails for good, `Abort` settles the
 *   deployment as failed;
 * - the **stack role** CloudFormation acts with for environment stacks: it may make only their
 *   resources (names `kinto-env-*`, `kinto-<env>-<block>`, log groups `/kinto/env/*`), and every
 *   role it makes must carry the **environment boundary**, which allows writing logs and invoking
 *   the deployer, nothing more;
 * - a **template bucket** for templates over CloudFormation's 51,200-byte inline limit (kept a day).
 * Nothing here runs or bills while no one deploys.
 */
export class EnvironmentDeployer extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly stateMachine: sfn.StateMachine;
  public readonly stackRole: iam.Role;
  public readonly boundary: iam.ManagedPolicy;
  public readonly templateBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: EnvironmentDeployerProps) {
    super(scope, id);
    const arn = (service: string, resource: string) => `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    const functionArns = [arn('lambda', `function:${FUNCTIONS}`), arn('lambda', `function:${FUNCTIONS}:*`)];

    this.templateBucket = new s3.Bucket(this, 'Templates', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(1) }],
      // Emptied by its lifecycle rule within a day; a non-empty bucket stays behind (never data).
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const deployer = new KintoFunction(this, 'Lambda', {
      entry: handlerEntry('deployer/index'),
      description: 'Kinto deployer: carries out deployments (environment stacks, function versions, aliases), runs jobs',
      roleDescription: 'Kinto deployer: deploys environments',
      // More memory is more CPU: synthesizing a 60-block stack takes a few seconds at 1 vCPU.
      memorySize: 2048,
      // Jobs run inside an invocation (at most 840 s on AWS), with time to record their end.
      timeout: Duration.minutes(15),
      logRetention: props.logRetention,
      // A retried job run or cron event would run the job twice: the core settles lost runs instead.
      retryAttempts: 0,
      // A source map of aws-cdk-lib would add megabytes to every cold start.
      sourceMap: false,
      environment: { STATE_TABLE_NAME: props.stateTable.table.tableName, PLATFORM_KEY_SECRET_ARN: props.platformKey.secretArn },
    });
    this.function = deployer.function;
    this.role = deployer.role;

    // Named, so that its ARN is known without a reference: the deployer, the stack role and the
    // boundary would otherwise refer to each other in a circle.
    const boundaryName = `${Aws.STACK_NAME}-${Aws.REGION}-environment-boundary`;
    const boundaryArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/${boundaryName}`;
    this.boundary = new iam.ManagedPolicy(this, 'EnvironmentBoundary', {
      managedPolicyName: boundaryName,
      description: 'Kinto: the most any role in an environment stack may do (write its logs, invoke the deployer)',
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteEnvironmentLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [arn('logs', 'log-group:/kinto/env/*')],
        }),
        new iam.PolicyStatement({ sid: 'CronInvokesDeployer', actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
      ],
    });

    this.stackRole = new iam.Role(this, 'StackRole', {
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
      description: 'Kinto: what CloudFormation may do for environment stacks (only their resources)',
    });
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BlockFunctions',
        actions: [
          'lambda:CreateFunction',
          'lambda:DeleteFunction',
          'lambda:GetFunction',
          'lambda:GetFunctionConfiguration',
          'lambda:UpdateFunctionCode',
          'lambda:UpdateFunctionConfiguration',
          'lambda:PublishVersion',
          'lambda:ListVersionsByFunction',
          'lambda:CreateAlias',
          'lambda:UpdateAlias',
          'lambda:DeleteAlias',
          'lambda:GetAlias',
          'lambda:AddPermission',
          'lambda:RemovePermission',
          'lambda:TagResource',
          'lambda:UntagResource',
          'lambda:ListTags',
        ],
        resources: functionArns,
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BlockImages',
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [props.imageRepository.repositoryArn],
      }),
    );
    const roles = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${STACKS}`;
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RolesWithinTheBoundary',
        actions: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:PutRolePermissionsBoundary'],
        resources: [roles],
        conditions: { StringEquals: { 'iam:PermissionsBoundary': boundaryArn } },
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnvironmentRoles',
        actions: [
          'iam:GetRole',
          'iam:GetRolePolicy',
          'iam:DeleteRole',
          'iam:DeleteRolePolicy',
          'iam:TagRole',
          'iam:UntagRole',
          'iam:UpdateRoleDescription',
        ],
        resources: [roles],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassEnvironmentRoles',
        actions: ['iam:PassRole'],
        resources: [roles],
        conditions: { StringEquals: { 'iam:PassedToService': ['lambda.amazonaws.com', 'scheduler.amazonaws.com'] } },
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnvironmentGateways',
        actions: [
          'apigateway:GET',
          'apigateway:POST',
          'apigateway:PUT',
          'apigateway:PATCH',
          'apigateway:DELETE',
          'apigateway:TagResource',
          'apigateway:UntagResource',
        ],
        resources: [
          `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/apis`,
          `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/apis/*`,
          `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/tags/*`,
        ],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnvironmentLogGroups',
        actions: [
          'logs:CreateLogGroup',
          'logs:DeleteLogGroup',
          'logs:PutRetentionPolicy',
          'logs:DeleteRetentionPolicy',
          'logs:PutSubscriptionFilter',
          'logs:DeleteSubscriptionFilter',
          'logs:DescribeSubscriptionFilters',
          'logs:TagResource',
          'logs:UntagResource',
          'logs:TagLogGroup',
          'logs:ListTagsForResource',
        ],
        resources: [arn('logs', 'log-group:/kinto/env/*')],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SubscribeToIndexer',
        actions: ['lambda:GetFunction'],
        resources: [props.logIndexerFunction.functionArn],
      }),
    );
    // Log groups are listed, and stages' access logs delivered, by account-wide calls.
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AccessLogDelivery',
        actions: [
          'logs:DescribeLogGroups',
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
        ],
        resources: ['*'],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CronSchedules',
        actions: [
          'scheduler:CreateSchedule',
          'scheduler:UpdateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
          'scheduler:TagResource',
          'scheduler:UntagResource',
        ],
        resources: [arn('scheduler', `schedule/default/${FUNCTIONS}`)],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Dashboards',
        actions: ['cloudwatch:PutDashboard', 'cloudwatch:DeleteDashboards', 'cloudwatch:GetDashboard'],
        resources: [`arn:${Aws.PARTITION}:cloudwatch::${Aws.ACCOUNT_ID}:dashboard/Kinto-*`],
      }),
    );
    const templates = this.templateBucket.arnForObjects('templates/*');
    this.stackRole.addToPolicy(new iam.PolicyStatement({ sid: 'ReadTemplates', actions: ['s3:GetObject'], resources: [templates] }));

    // The deployer itself: its fast path (function versions, aliases), jobs, and stacks.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FastPathAndJobs',
        actions: [
          'lambda:GetFunction',
          'lambda:UpdateFunctionCode',
          'lambda:UpdateFunctionConfiguration',
          'lambda:PublishVersion',
          'lambda:ListVersionsByFunction',
          'lambda:GetAlias',
          'lambda:UpdateAlias',
          'lambda:InvokeFunction',
        ],
        resources: functionArns,
      }),
    );
    // A deployment that only moves aliases sets the stage's access-log format (release, commits).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AccessLogFormat',
        actions: ['apigateway:GET', 'apigateway:PATCH'],
        resources: [`arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/apis/*/stages/$default`],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BlockImages',
        actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [props.imageRepository.repositoryArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnvironmentStacks',
        actions: [
          'cloudformation:CreateStack',
          'cloudformation:UpdateStack',
          'cloudformation:DeleteStack',
          'cloudformation:DescribeStacks',
          'cloudformation:DescribeStackEvents',
          'cloudformation:ContinueUpdateRollback',
        ],
        resources: [arn('cloudformation', `stack/${STACKS}/*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassStackRole',
        actions: ['iam:PassRole'],
        resources: [this.stackRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      }),
    );
    // CloudFormation fetches a template URL with the caller's rights.
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'WriteTemplates', actions: ['s3:PutObject', 's3:GetObject'], resources: [templates] }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StateTableItems',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
        resources: [props.stateTable.table.tableArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'StateTableById', actions: ['dynamodb:Query'], resources: [props.stateTable.byIdIndexArn] }),
    );
    props.platformKey.grantRead(this.role);

    this.function.addEnvironment('STACK_ROLE_ARN', this.stackRole.roleArn);
    this.function.addEnvironment('TEMPLATE_BUCKET', this.templateBucket.bucketName);
    this.function.addEnvironment('PERMISSIONS_BOUNDARY_ARN', boundaryArn);
    this.function.addEnvironment('GATEWAY_FUNCTION_ARN', props.gatewayFunction.functionArn);
    this.function.addEnvironment('AUTHORIZER_FUNCTION_ARN', props.authorizerFunction.functionArn);
    this.function.addEnvironment('LOG_INDEXER_FUNCTION_ARN', props.logIndexerFunction.functionArn);
    this.function.addEnvironment('IMAGE_REPOSITORY_ARN', props.imageRepository.repositoryArn);

    // Named for the same reason as the boundary: the state machine invokes the deployer, which starts it.
    const stateMachineName = `${Aws.STACK_NAME}-deployments`;
    this.stateMachine = this.deploymentStateMachine(props, stateMachineName);
    this.function.addEnvironment(
      'STATE_MACHINE_ARN',
      `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${stateMachineName}`,
    );
    if (props.services) this.allowCustomServices(props, props.services);
    // Jobs (migrations) connect to custom services at once: a deployment with jobs wakes them first.
    if (props.services && props.serviceWaker) {
      props.serviceWaker.grantWaking(this.role);
      for (const [name, value] of Object.entries(props.serviceWaker.wakingEnvironment())) this.function.addEnvironment(name, value);
    }
    this.acknowledgeFindings();
  }

  /**
   * What environment stacks with a custom service need, scoped like the rest: ECS services
   * `kinto-<12>-<block>` in the platform cluster, security groups in the platform VPC, access
   * points of the services' file system, Cloud Map services in the platform namespace, roles
   * passed to ECS tasks (within the boundary, as every environment role); and in the boundary,
   * what functions in a VPC and service tasks need (network interfaces, image pulls, mounts).
   */
  private allowCustomServices(props: EnvironmentDeployerProps, refs: ServicePlatformRefs): void {
    const arn = (service: string, resource: string) => `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    const vpcArn = arn('ec2', `vpc/${refs.vpcId}`);
    const inVpc = { ArnEquals: { 'ec2:Vpc': vpcArn } };
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceEcsServices',
        actions: [
          'ecs:CreateService',
          'ecs:UpdateService',
          'ecs:DeleteService',
          'ecs:DescribeServices',
          'ecs:TagResource',
          'ecs:UntagResource',
        ],
        resources: [arn('ecs', `service/${refs.clusterName}/${FUNCTIONS}`)],
      }),
    );
    // Task definitions are registered, described and deregistered by family revision ARNs that
    // ECS does not scope by name for these calls; the roles they name are what is limited (below).
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceTaskDefinitions',
        actions: ['ecs:RegisterTaskDefinition', 'ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceSecurityGroupsCreate',
        actions: ['ec2:CreateSecurityGroup'],
        resources: [vpcArn, arn('ec2', 'security-group/*')],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceSecurityGroupsInTheVpc',
        actions: [
          'ec2:AuthorizeSecurityGroupIngress',
          'ec2:AuthorizeSecurityGroupEgress',
          'ec2:RevokeSecurityGroupIngress',
          'ec2:RevokeSecurityGroupEgress',
          'ec2:DeleteSecurityGroup',
          'ec2:CreateTags',
        ],
        resources: [arn('ec2', 'security-group/*')],
        conditions: inVpc,
      }),
    );
    // Describe calls have no resource-level permissions; Lambda checks subnets and groups with them
    // when a function is put in a VPC.
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeNetwork',
        actions: [
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSecurityGroupRules',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
          'ec2:DescribeNetworkInterfaces',
        ],
        resources: ['*'],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceAccessPointsCreate',
        actions: ['elasticfilesystem:CreateAccessPoint', 'elasticfilesystem:TagResource'],
        resources: [refs.fileSystemArn, arn('elasticfilesystem', 'access-point/*')],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceAccessPoints',
        actions: ['elasticfilesystem:DeleteAccessPoint', 'elasticfilesystem:DescribeAccessPoints', 'elasticfilesystem:UntagResource'],
        // Deleting an access point deletes no data: the folder stays on the file system.
        resources: [refs.fileSystemArn, arn('elasticfilesystem', 'access-point/*')],
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceNames',
        actions: ['servicediscovery:CreateService', 'servicediscovery:TagResource'],
        resources: [refs.namespaceArn, arn('servicediscovery', 'service/*')],
        conditions: { StringEquals: { 'servicediscovery:NamespaceArn': refs.namespaceArn } },
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServiceNamesChange',
        actions: [
          'servicediscovery:GetService',
          'servicediscovery:UpdateService',
          'servicediscovery:DeleteService',
          'servicediscovery:ListTagsForResource',
          'servicediscovery:UntagResource',
        ],
        resources: [arn('servicediscovery', 'service/*')],
        conditions: { StringEquals: { 'servicediscovery:NamespaceArn': refs.namespaceArn } },
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassServiceTaskRoles',
        actions: ['iam:PassRole'],
        resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${STACKS}`],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    this.stackRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'SubscribeToWaker', actions: ['lambda:GetFunction'], resources: [refs.wakerFunctionArn] }),
    );

    this.boundary.addStatements(
      // AWSLambdaVPCAccessExecutionRole's actions: Lambda makes the functions' network interfaces with the function's role.
      new iam.PolicyStatement({
        sid: 'FunctionsInTheVpc',
        actions: VPC_NETWORK_INTERFACE_ACTIONS,
        resources: ['*'],
      }),
      new iam.PolicyStatement({ sid: 'ServicesPullImagesToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'ServicesPullImages',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        resources: [props.imageRepository.repositoryArn],
      }),
      new iam.PolicyStatement({
        sid: 'ServicesMountTheirData',
        actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
        resources: [refs.fileSystemArn],
      }),
    );
    this.function.addEnvironment('BLOCK_SERVICES', Stack.of(this).toJsonString(refs));

    const stack = Stack.of(this);
    // cdk-nag names a token by its logical id (<Id> or <Id.Attribute>).
    const named = (token: string) => {
      const r = stack.resolve(token) as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return r.Ref ? `<${r.Ref}>` : r['Fn::GetAtt'] ? `<${r['Fn::GetAtt'].join('.')}>` : token;
    };
    const at = (service: string, resource: string) => `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
    const finding = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;
    const services: [string, string][] = [
      [
        finding(at('ecs', `service/${named(refs.clusterName)}/${FUNCTIONS}`)),
        'Environment stacks make their ECS services at run time, named kinto-<12 characters of the environment id>-<block> (? is exactly one character), in the platform cluster only.',
      ],
      [
        finding(at('ec2', 'security-group/*')),
        'Security groups get random ids when environment stacks make them; every change to one is conditioned on the platform VPC (ec2:Vpc), and creation names that VPC.',
      ],
      [
        finding(at('elasticfilesystem', 'access-point/*')),
        "Access points get random ids when environment stacks make them, on the custom services' file system only; deleting one deletes no data (the folder stays).",
      ],
      [
        finding(at('servicediscovery', 'service/*')),
        'Cloud Map services get random ids when environment stacks make them; every grant is conditioned on the platform namespace (servicediscovery:NamespaceArn).',
      ],
    ];
    for (const [id, reason] of services) Validations.of(this.stackRole).acknowledge({ id, reason });
    Validations.of(this.boundary).acknowledge({
      id: finding('*'),
      reason:
        'A ceiling, not a grant: functions in a VPC need the network-interface actions and tasks ecr:GetAuthorizationToken, which have no resource-level permissions; each role names its own resources.',
    });
  }

  /** cdk-nag findings that are the design, each with why. */
  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const bucket = stack.getLogicalId(this.templateBucket.node.defaultChild as s3.CfnBucket);
    const fnLogical = stack.getLogicalId(this.function.node.defaultChild as lambda.CfnFunction);
    const at = (service: string, resource: string) => `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
    const names =
      'Environment stacks and their resources are made at run time, one set per environment, under fixed name patterns: ' +
      'stacks kinto-env-<environment id>, functions and schedules kinto-<12 characters of it>-<block> (? is exactly one character), log groups /kinto/env/<id>/..., dashboards Kinto-...; the grant is limited to those patterns.';
    const ack = (scope: Construct, ids: string[], reason: string) => {
      for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
    };
    const fnResources = [
      `AwsSolutions-IAM5[Resource::${at('lambda', `function:${FUNCTIONS}`)}]`,
      `AwsSolutions-IAM5[Resource::${at('lambda', `function:${FUNCTIONS}:*`)}]`,
    ];
    const templates = `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/templates/*]`;
    ack(
      this.role,
      [
        ...fnResources,
        `AwsSolutions-IAM5[Resource::${at('cloudformation', `stack/${STACKS}/*`)}]`,
        templates,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apis/*/stages/$default]',
      ],
      `${names} Environments' HTTP APIs get random ids: the deployer may read and update only their $default stages.`,
    );
    ack(
      this.stackRole,
      [
        ...fnResources,
        templates,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${STACKS}]`,
        `AwsSolutions-IAM5[Resource::${at('logs', 'log-group:/kinto/env/*')}]`,
        `AwsSolutions-IAM5[Resource::${at('scheduler', `schedule/default/${FUNCTIONS}`)}]`,
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch::<AWS::AccountId>:dashboard/Kinto-*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apis/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/tags/*]',
      ],
      `${names} HTTP APIs get random ids, so API Gateway actions name /apis/*; roles it makes must carry the environment boundary (a condition on CreateRole and PutRolePolicy).`,
    );
    ack(
      this.stackRole,
      ['AwsSolutions-IAM5[Resource::*]'],
      "DescribeLogGroups and API Gateway's access-log delivery calls (logs:*LogDelivery, PutResourcePolicy) have no resource-level permissions.",
    );
    ack(
      this.boundary,
      [`AwsSolutions-IAM5[Resource::${at('logs', 'log-group:/kinto/env/*')}]`],
      "A permissions boundary is a ceiling for every environment's roles: their own policies name one log group each.",
    );
    ack(
      this.stateMachine,
      ['AwsSolutions-IAM5[Resource::*]', `AwsSolutions-IAM5[Resource::<${fnLogical}.Arn>:*]`],
      "Step Functions' log delivery has no resource-level permissions; LambdaInvoke grants the deployer's versions (:*) too, and only the deployer.",
    );
    ack(
      this.stateMachine,
      ['AwsSolutions-SF2'],
      'X-Ray tracing would bill per deployment and show what the deployment record already shows step by step (with times and reasons).',
    );
    ack(
      this.templateBucket,
      ['AwsSolutions-S1'],
      'It holds only generated templates for a day (no data); CloudTrail records who wrote them. Access logs would need a bucket of their own.',
    );
  }

  /** Advance -> (done? end : wait -> Advance); a failure that retries do not cure -> Abort -> Fail. */
  private deploymentStateMachine(props: EnvironmentDeployerProps, stateMachineName: string): sfn.StateMachine {
    const ids = { 'envId.$': '$.envId', 'deploymentId.$': '$.deploymentId' };
    const advance = new tasks.LambdaInvoke(this, 'Advance', {
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({ kind: 'advance', ...ids }),
      resultSelector: { 'done.$': '$.Payload.done', 'checkAfterSeconds.$': '$.Payload.checkAfterSeconds' },
      resultPath: '$.next',
      retryOnServiceExceptions: true,
    });
    // The deployer's own failures (a throttled table, a timeout): each step is idempotent, so again.
    advance.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(10), maxAttempts: 3, backoffRate: 2 });
    const abort = new tasks.LambdaInvoke(this, 'Abort', {
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({ kind: 'abort', ...ids, 'error.$': '$.error' }),
      resultPath: sfn.JsonPath.DISCARD,
      retryOnServiceExceptions: true,
    });
    advance.addCatch(
      abort.next(
        new sfn.Fail(this, 'Abandoned', { error: 'DeploymentAbandoned', cause: 'the deployer failed; the deployment record says why' }),
      ),
      {
        resultPath: '$.error',
      },
    );
    const wait = new sfn.Wait(this, 'CheckLater', { time: sfn.WaitTime.secondsPath('$.next.checkAfterSeconds') });
    const definition = advance.next(
      new sfn.Choice(this, 'Ended?')
        .when(sfn.Condition.booleanEquals('$.next.done', true), new sfn.Succeed(this, 'Ended'))
        .otherwise(wait.next(advance)),
    );
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return new sfn.StateMachine(this, 'Deployments', {
      stateMachineName,
      comment: 'Kinto: one execution per deployment (named after it), advancing it until it ends',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.deploymentTimeout ?? Duration.hours(2),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
  }
}
