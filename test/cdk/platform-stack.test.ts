import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { ensureStateTable } from '../../lambdas/adapters/dynamodb/create-state-table';
import { synthPlatform, type SynthesizedPlatform } from './support/synth-platform';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

describe('Stack: KintoPlatformStack', () => {
  let platform: SynthesizedPlatform;
  let template: Template;
  let resources: Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const logicalId = (type: string, pathPart: string): string => {
    const matches = ofType(type).filter(([id]) => id.startsWith(pathPart));
    if (matches.length !== 1)
      throw new Error(`expected one ${type} named ${pathPart}*, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
    return matches[0][0];
  };
  /** The statements of the inline policy attached to a role. */
  const policyOf = (roleId: string) => {
    const policies = ofType('AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: { Ref?: string }) => r.Ref === roleId));
    expect(policies).toHaveLength(1);
    return policies[0][1].Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Effect: string }[];
  };
  const functionNamed = (pathPart: string) => resources[logicalId('AWS::Lambda::Function', pathPart)];
  /** LogGroup.grant names the group both by its ARN attribute and by an ARN built from its name. */
  const logGroupResources = (groupId: string) => [
    {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':logs:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':log-group:',
          { Ref: groupId },
        ],
      ],
    },
    { 'Fn::GetAtt': [groupId, 'Arn'] },
  ];

  beforeAll(() => {
    // The real bundling (local esbuild), as `npm run synth` does it: proves the handlers bundle.
    platform = synthPlatform({ bundle: true, withConsole: true });
    template = platform.template;
    resources = template.toJSON().Resources;
  });
  afterAll(() => platform.dispose());

  describe('Construct: StateTable', () => {
    it('is on-demand, with point-in-time recovery, AWS-managed encryption, deletion protection, retained on delete', () => {
      template.resourceCountIs('AWS::DynamoDB::Table', 2);
      expect(resources[logicalId('AWS::DynamoDB::Table', 'StateTable')]).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          DeletionProtectionEnabled: true,
        },
      });
      expect(resources[logicalId('AWS::DynamoDB::Table', 'StateTable')].Properties.TimeToLiveSpecification).toBeUndefined();
    });

    it('has exactly the keys and index the local platform creates (ensureStateTable)', async () => {
      const dynamodb = mockClient(DynamoDBClient);
      dynamodb
        .on(CreateTableCommand)
        .resolves({})
        .on(DescribeTableCommand)
        .resolves({ Table: { TableStatus: 'ACTIVE' } });
      await ensureStateTable(new DynamoDBClient({ region: 'eu-west-1' }), 'kinto-state');
      const local = dynamodb.commandCalls(CreateTableCommand)[0].args[0].input;
      dynamodb.restore();

      const table = resources[logicalId('AWS::DynamoDB::Table', 'StateTable')];
      const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
        String(a.AttributeName).localeCompare(String(b.AttributeName));
      expect([...table.Properties.AttributeDefinitions].sort(byName)).toEqual([...local.AttributeDefinitions!].sort(byName));
      expect(table.Properties.KeySchema).toEqual(local.KeySchema);
      expect(table.Properties.GlobalSecondaryIndexes).toEqual(local.GlobalSecondaryIndexes);
      expect(table.Properties.BillingMode).toBe(local.BillingMode);
    });
  });

  describe('Construct: PlatformSecrets', () => {
    it('has Secrets Manager generate the admin token and the platform key at deploy time (no value in the template)', () => {
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Description: Match.stringLikeRegexp('admin token'),
        GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
      });
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Description: Match.stringLikeRegexp('platform key'),
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
      });
      template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { SecretString: Match.anyValue() }, 0);
      template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { KmsKeyId: Match.anyValue() }, 0);
    });
  });

  describe('Construct: ControlApi', () => {
    it('runs the api handler on Node.js 24, arm64, with its own log group (30 days) and the stack-set environment', () => {
      const fn = functionNamed('ControlApiHandlerFunction');
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: 29,
        LoggingConfig: { LogGroup: { Ref: logicalId('AWS::Logs::LogGroup', 'ControlApiHandlerLogGroup') } },
      });
      expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(
        [
          'ADMIN_TOKEN_SECRET_ARN',
          'BUILD_LOG_GROUP_NAME',
          'BUILD_PROJECT_NAME',
          'DEPLOYER_FUNCTION_NAME',
          'DEPLOYER_STATE_MACHINE_ARN',
          'LOGS_TABLE_NAME',
          'NODE_OPTIONS',
          'PLATFORM_KEY_SECRET_ARN',
          'STATE_TABLE_NAME',
        ].sort(),
      );
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      expect(resources[logicalId('AWS::Logs::LogGroup', 'ControlApiHandlerLogGroup')].Properties.RetentionInDays).toBe(30);
    });

    it('was bundled by esbuild into one minified file', () => {
      const fn = functionNamed('ControlApiHandlerFunction');
      const asset = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
      const bundle = join(platform.outdir, `asset.${asset}`, 'index.js');
      expect(existsSync(bundle)).toBe(true);
      expect(readFileSync(bundle, 'utf8')).toMatch(/DEPLOYER_STATE_MACHINE_ARN/);
    });

    it('grants the api function exactly what it uses, and no AWS managed policy', () => {
      const role = logicalId('AWS::IAM::Role', 'ControlApiHandlerRole');
      expect(resources[role].Properties.ManagedPolicyArns).toBeUndefined();
      const table = { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'StateTable'), 'Arn'] };
      const logsTable = { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'LogsTable'), 'Arn'] };
      expect(policyOf(role)).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: logGroupResources(logicalId('AWS::Logs::LogGroup', 'ControlApiHandlerLogGroup')),
        },
        {
          Sid: 'StateTableItems',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
          Resource: table,
        },
        { Sid: 'StateTableById', Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [table, '/index/byId']] } },
        {
          Sid: 'PlatformSecrets',
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [
            { Ref: logicalId('AWS::SecretsManager::Secret', 'SecretsAdminToken') },
            { Ref: logicalId('AWS::SecretsManager::Secret', 'SecretsPlatformKey') },
          ],
        },
        {
          Sid: 'StartBuilds',
          Effect: 'Allow',
          Action: 'codebuild:StartBuild',
          Resource: { 'Fn::GetAtt': [logicalId('AWS::CodeBuild::Project', 'BuildsProject'), 'Arn'] },
        },
        {
          Sid: 'LogsTableRead',
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: [logsTable, { 'Fn::Join': ['', [logsTable, '/index/byEnv']] }, { 'Fn::Join': ['', [logsTable, '/index/byBlock']] }],
        },
        {
          Effect: 'Allow',
          Action: 'states:StartExecution',
          Resource: { Ref: logicalId('AWS::StepFunctions::StateMachine', 'DeployerDeployments') },
        },
        {
          Sid: 'InvokeDeployer',
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'DeployerLambdaFunction'), 'Arn'] },
        },
        {
          Sid: 'ReadJobOutput',
          Effect: 'Allow',
          Action: 'logs:FilterLogEvents',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':logs:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':log-group:/kinto/env/*',
              ],
            ],
          },
        },
        {
          Effect: 'Allow',
          Action: ['logs:DescribeLogStreams', 'logs:GetLogEvents'],
          Resource: logGroupResources(logicalId('AWS::Logs::LogGroup', 'BuildsBuildLogs')),
        },
      ]);
    });

    it('routes everything to the function and throttles the $default stage, with JSON access logs', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'NONE' });
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [logicalId('AWS::Logs::LogGroup', 'ControlApiAccessLogs'), 'Arn'] },
          Format: Match.serializedJson(Match.objectLike({ requestId: '$context.requestId', status: '$context.status' })),
        },
      });
      expect(resources[logicalId('AWS::Logs::LogGroup', 'ControlApiAccessLogs')].Properties.RetentionInDays).toBe(30);
    });

    it('allows browsers from the console origin only', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: {
          AllowOrigins: [
            {
              'Fn::Join': [
                '',
                ['https://', { 'Fn::GetAtt': [logicalId('AWS::CloudFront::Distribution', 'ConsoleDistribution'), 'DomainName'] }],
              ],
            },
          ],
          AllowHeaders: ['authorization', 'content-type', 'if-match'],
          // The console follows logs and builds/runs from these headers.
          ExposeHeaders: ['etag', 'location', 'kinto-log-next-offset', 'kinto-build-status', 'kinto-run-status'],
        },
      });
    });
  });

  describe('Construct: BuildPipeline', () => {
    it('keeps images in a scanned repository whose lifecycle rule expires untagged images', () => {
      template.hasResource('AWS::ECR::Repository', {
        DeletionPolicy: 'Retain',
        Properties: {
          ImageScanningConfiguration: { ScanOnPush: true },
          LifecyclePolicy: {
            LifecyclePolicyText: Match.serializedJson({
              rules: [
                Match.objectLike({ selection: Match.objectLike({ tagStatus: 'untagged', countNumber: 7 }), action: { type: 'expire' } }),
              ],
            }),
          },
        },
      });
    });

    it('runs the top-level buildspec.yml, verbatim, in one privileged ARM project with no source', () => {
      template.resourceCountIs('AWS::CodeBuild::Project', 1);
      template.hasResourceProperties('AWS::CodeBuild::Project', {
        Source: { Type: 'NO_SOURCE', BuildSpec: readFileSync(join(__dirname, '..', '..', 'buildspec.yml'), 'utf8') },
        Artifacts: { Type: 'NO_ARTIFACTS' },
        Environment: { Type: 'ARM_CONTAINER', PrivilegedMode: true, ComputeType: 'BUILD_GENERAL1_SMALL' },
        ConcurrentBuildLimit: 4,
        TimeoutInMinutes: 30,
        LogsConfig: { CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: logicalId('AWS::Logs::LogGroup', 'BuildsBuildLogs') } } },
      });
      expect(resources[logicalId('AWS::Logs::LogGroup', 'BuildsBuildLogs')].Properties.RetentionInDays).toBe(30);
    });

    it('lets the build push to its repository only', () => {
      const statements = policyOf(logicalId('AWS::IAM::Role', 'BuildsProjectRole'));
      const repo = { 'Fn::GetAtt': [logicalId('AWS::ECR::Repository', 'BuildsImages'), 'Arn'] };
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: expect.arrayContaining(['ecr:PutImage', 'ecr:InitiateLayerUpload']), Resource: repo }),
      );
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'ecr:GetAuthorizationToken', Resource: '*' }));
      expect(statements.filter((s) => s.Resource === '*')).toHaveLength(1);
    });

    it('sends build state changes of its project to the build-events Lambda, with retries and a dead-letter queue', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.codebuild'],
          'detail-type': ['CodeBuild Build State Change'],
          detail: { 'project-name': [{ Ref: logicalId('AWS::CodeBuild::Project', 'BuildsProject') }] },
        },
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'BuildsEventsHandlerFunction'), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'BuildsEventsDeadLetters'), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
          },
        ],
      });
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
      expect(functionNamed('BuildsEventsHandlerFunction').Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'BuildsEventsDeadLetters'), 'Arn'] } },
        Environment: { Variables: { STATE_TABLE_NAME: { Ref: logicalId('AWS::DynamoDB::Table', 'StateTable') } } },
      });
    });

    it('grants the build-events function a read and a conditional write of build items, and BatchGetBuilds', () => {
      const role = logicalId('AWS::IAM::Role', 'BuildsEventsHandlerRole');
      expect(resources[role].Properties.ManagedPolicyArns).toBeUndefined();
      expect(policyOf(role)).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: logGroupResources(logicalId('AWS::Logs::LogGroup', 'BuildsEventsHandlerLogGroup')),
        },
        {
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'BuildsEventsDeadLetters'), 'Arn'] },
        },
        {
          Sid: 'BuildItems',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'StateTable'), 'Arn'] },
        },
        {
          Sid: 'ReadBuilds',
          Effect: 'Allow',
          Action: 'codebuild:BatchGetBuilds',
          Resource: { 'Fn::GetAtt': [logicalId('AWS::CodeBuild::Project', 'BuildsProject'), 'Arn'] },
        },
      ]);
    });
  });

  describe('Construct: BlockCluster', () => {
    it('has public subnets only: no NAT gateway, no private subnet', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::Subnet', 2);
      template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
      template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    });

    it('logs rejected traffic, strips the default security group, and runs Fargate without Container Insights', () => {
      template.hasResourceProperties('AWS::EC2::FlowLog', {
        TrafficType: 'REJECT',
        LogDestinationType: 'cloud-watch-logs',
        ResourceType: 'VPC',
      });
      template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
      template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }] });
      template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
        CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']),
      });
      template.resourceCountIs('AWS::ECS::Service', 0);
    });
  });

  describe('Construct: ConsoleSite', () => {
    it('keeps the bucket private: public access blocked, TLS only, encrypted, retained', () => {
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: {
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        },
      });
    });

    it('serves it through CloudFront with origin access control: the bucket accepts reads from this distribution alone', () => {
      const distribution = logicalId('AWS::CloudFront::Distribution', 'ConsoleDistribution');
      template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
      });
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: {
          DefaultRootObject: 'index.html',
          DefaultCacheBehavior: { ViewerProtocolPolicy: 'redirect-to-https' },
          Origins: [
            Match.objectLike({
              OriginAccessControlId: {
                'Fn::GetAtt': [logicalId('AWS::CloudFront::OriginAccessControl', 'ConsoleDistributionOrigin1S3OriginAccessControl'), 'Id'],
              },
              S3OriginConfig: { OriginAccessIdentity: '' },
            }),
          ],
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Action: 's3:GetObject',
              Principal: { Service: 'cloudfront.amazonaws.com' },
              Condition: {
                StringEquals: { 'AWS:SourceArn': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: distribution }])] }) },
              },
            }),
          ]),
        },
      });
    });

    it('deploys the built console with a config.json naming the control API', () => {
      const [[, deployment]] = Object.entries<Resource>(resources).filter(([, r]) => r.Type === 'Custom::CDKBucketDeployment');
      expect(deployment.Properties.DestinationBucketName).toEqual({ Ref: logicalId('AWS::S3::Bucket', 'ConsoleBucket') });
      expect(deployment.Properties.DistributionPaths).toEqual(['/*']);
      // The second source is config.json, whose marker is replaced with the API's URL at deploy time.
      expect(deployment.Properties.SourceMarkers[1]).toEqual({
        '<<marker:0xbaba:0>>': { 'Fn::GetAtt': [logicalId('AWS::ApiGatewayV2::Api', 'ControlApiHttpApi'), 'ApiEndpoint'] },
      });
    });
  });

  describe('Construct: PlatformDashboard', () => {
    it('charts the control API, every platform function, the table, builds and dead letters', () => {
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      const body = JSON.stringify(ofType('AWS::CloudWatch::Dashboard')[0][1].Properties.DashboardBody);
      for (const fn of [
        'ControlApiHandlerFunction',
        'BuildsEventsHandlerFunction',
        'GatewayAuthorizerLambdaFunction',
        'LogIndexerLambdaFunction',
      ])
        expect(body).toContain(logicalId('AWS::Lambda::Function', fn));
      for (const table of ['StateTable', 'LogsTable']) expect(body).toContain(logicalId('AWS::DynamoDB::Table', table));
      for (const part of ['AWS/ApiGateway', 'AWS/DynamoDB', 'AWS/CodeBuild', 'ApproximateNumberOfMessagesVisible'])
        expect(body).toContain(part);
    });
  });

  describe('Construct: GatewayAuthorizer (issue 5), wired to the platform key and the state table', () => {
    it('reads the platform key secret and the state table', () => {
      const fn = functionNamed('GatewayAuthorizerLambdaFunction');
      expect(fn.Properties.Environment.Variables).toMatchObject({
        PLATFORM_KEY_SECRET_ARN: { Ref: logicalId('AWS::SecretsManager::Secret', 'SecretsPlatformKey') },
        STATE_TABLE_NAME: { Ref: logicalId('AWS::DynamoDB::Table', 'StateTable') },
      });
    });
  });

  describe('Constructs: GatewayFunction and EnvironmentDeployer (issue 18)', () => {
    const statementsOf = (roleId: string) =>
      policyOf(roleId) as { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[];
    const sid = (roleId: string, id: string) => statementsOf(roleId).find((st) => st.Sid === id);

    it('runs POST /authorize of every environment: GetItem on the state table, the platform key, two invoke permissions', () => {
      const role = logicalId('AWS::IAM::Role', 'GatewayFunctionLambdaRole');
      expect(sid(role, 'ReadClients')).toMatchObject({ Action: 'dynamodb:GetItem' });
      const permissions = ofType('AWS::Lambda::Permission').filter(([id]) => id.startsWith('GatewayFunctionLambda'));
      expect(permissions.map(([, p]) => JSON.stringify(p.Properties.SourceArn)).sort()).toEqual([
        expect.stringContaining('/*/$default'),
        expect.stringContaining('/*/POST/authorize'),
      ]);
    });

    it('runs the deployer for up to 15 minutes with 2 GB, no retries of asynchronous events, its configuration from the stack', () => {
      const fn = functionNamed('DeployerLambdaFunction');
      expect(fn.Properties).toMatchObject({ Timeout: 900, MemorySize: 2048, Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(
        [
          'AUTHORIZER_FUNCTION_ARN',
          'GATEWAY_FUNCTION_ARN',
          'IMAGE_REPOSITORY_ARN',
          'LOG_INDEXER_FUNCTION_ARN',
          'PERMISSIONS_BOUNDARY_ARN',
          'PLATFORM_KEY_SECRET_ARN',
          'STACK_ROLE_ARN',
          'STATE_MACHINE_ARN',
          'STATE_TABLE_NAME',
          'TEMPLATE_BUCKET',
        ].sort(),
      );
      const [invokeConfig] = ofType('AWS::Lambda::EventInvokeConfig').filter(([, c]) =>
        JSON.stringify(c.Properties.FunctionName).includes('DeployerLambda'),
      );
      expect(invokeConfig[1].Properties.MaximumRetryAttempts).toBe(0);
    });

    it('bundles the deployer (aws-cdk-lib included, no wasm beside it) into one file that loads in a fresh node', () => {
      const fn = functionNamed('DeployerLambdaFunction');
      const dir = join(platform.outdir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      const bundle = join(dir, 'index.js');
      expect(statSync(bundle).size).toBeLessThan(20 * 1024 * 1024);
      // Its first event: configuration is read (and missing here), which means every module loaded.
      const out = spawnSync(
        process.execPath,
        [
          '-e',
          `require(${JSON.stringify(bundle)}).handler({ kind: 'stop', envId: 'e' }, { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:1:function:d' }).catch((e) => { console.log(e.message); })`,
        ],
        { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' }, timeout: 30_000 },
      );
      expect(out.stdout).toContain('environment variable STATE_TABLE_NAME is not set');
    });

    it('advances a deployment in a state machine: Advance, then end or wait and advance again; a lasting failure aborts', () => {
      const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0];
      const definition = JSON.parse(
        (machine.Properties.DefinitionString['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'ARN')).join(''),
      ) as { StartAt: string; States: Record<string, any> };
      expect(definition.StartAt).toBe('Advance');
      const { Advance, CheckLater, Abort } = definition.States;
      expect(Advance.Parameters.Payload).toEqual({ kind: 'advance', 'envId.$': '$.envId', 'deploymentId.$': '$.deploymentId' });
      expect(Advance.Next).toBe('Ended?');
      expect(Advance.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Abort' }]);
      expect(Advance.Retry.map((r: { ErrorEquals: string[] }) => r.ErrorEquals)).toContainEqual(['States.ALL']);
      expect(definition.States['Ended?'].Choices).toEqual([{ Variable: '$.next.done', BooleanEquals: true, Next: 'Ended' }]);
      expect(definition.States['Ended?'].Default).toBe('CheckLater');
      expect(CheckLater).toMatchObject({ Type: 'Wait', SecondsPath: '$.next.checkAfterSeconds', Next: 'Advance' });
      expect(Abort.Parameters.Payload).toMatchObject({ kind: 'abort', 'error.$': '$.error' });
      expect(Abort.Next).toBe('Abandoned');
      expect(machine.Properties).toMatchObject({
        StateMachineType: 'STANDARD',
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      });
    });

    it('lets the deployer change only environment stacks, block functions and templates, and pass only the stack role', () => {
      const role = logicalId('AWS::IAM::Role', 'DeployerLambdaRole');
      expect(JSON.stringify(sid(role, 'EnvironmentStacks')!.Resource)).toContain(':stack/kinto-env-*/*');
      expect(JSON.stringify(sid(role, 'FastPathAndJobs')!.Resource)).toContain(':function:kinto-????????????-*');
      expect(sid(role, 'PassStackRole')).toMatchObject({
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'DeployerStackRole'), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      });
      expect(statementsOf(role).flatMap((st) => [st.Action].flat())).not.toContain('iam:CreateRole');
    });

    it('lets CloudFormation make roles in environment stacks only within the environment boundary', () => {
      const stackRole = logicalId('AWS::IAM::Role', 'DeployerStackRole');
      expect(resources[stackRole].Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
        Service: 'cloudformation.amazonaws.com',
      });
      const create = sid(stackRole, 'RolesWithinTheBoundary')!;
      expect(create.Action).toContain('iam:CreateRole');
      expect(JSON.stringify(create.Condition)).toContain('environment-boundary');
      expect(JSON.stringify(sid(stackRole, 'PassEnvironmentRoles')!.Condition)).toContain('lambda.amazonaws.com');
      const [, boundary] = ofType('AWS::IAM::ManagedPolicy')[0];
      const allowed = (boundary.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
        .flatMap((st) => [st.Action].flat())
        .sort();
      expect(allowed).toEqual(['lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    });

    it('lets Lambda pull block images only for kinto- functions', () => {
      const [, repo] = ofType('AWS::ECR::Repository')[0];
      const statement = repo.Properties.RepositoryPolicyText.Statement.find((st: { Sid?: string }) => st.Sid === 'LambdaPullsBlockImages');
      expect(statement).toMatchObject({
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      });
      expect(JSON.stringify(statement.Condition)).toContain(':function:kinto-*');
    });
  });

  describe('Constructs: LogsTable and LogIndexer (issue 6)', () => {
    it('keep logs in an on-demand table with TTL, PITR and AWS-managed encryption, retained on delete', () => {
      expect(resources[logicalId('AWS::DynamoDB::Table', 'LogsTable')]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          DeletionProtectionEnabled: true,
        },
      });
    });

    it('index into the logs table, with retention and a dead-letter queue; no platform log group is subscribed', () => {
      const fn = functionNamed('LogIndexerLambdaFunction');
      expect(fn.Properties).toMatchObject({
        Architectures: ['arm64'],
        Environment: {
          Variables: { KINTO_LOGS_TABLE: { Ref: logicalId('AWS::DynamoDB::Table', 'LogsTable') }, KINTO_LOG_RETENTION_HOURS: '48' },
        },
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalId('AWS::SQS::Queue', 'LogIndexerDeadLetterQueue'), 'Arn'] } },
      });
      expect(resources[logicalId('AWS::Logs::LogGroup', 'LogIndexerLambdaLogGroup')].Properties.RetentionInDays).toBe(30);
      // The indexer discards batches of groups not named /kinto/env/<envId>/...: the deployer subscribes those.
      template.resourceCountIs('AWS::Logs::SubscriptionFilter', 0);
    });
  });

  describe('Outputs', () => {
    it('say where the console, the control API and the admin token are', () => {
      const outputs = template.toJSON().Outputs;
      expect(Object.keys(outputs).sort()).toEqual([
        'AdminTokenCommand',
        'AdminTokenSecretArn',
        'ConsoleUrl',
        'ControlApiUrl',
        'DashboardUrl',
        'ImageRepositoryUri',
      ]);
      template.hasOutput('AdminTokenSecretArn', { Value: { Ref: logicalId('AWS::SecretsManager::Secret', 'SecretsAdminToken') } });
      template.hasOutput('AdminTokenCommand', {
        Value: {
          'Fn::Join': [
            '',
            [
              'aws secretsmanager get-secret-value --secret-id ',
              { Ref: logicalId('AWS::SecretsManager::Secret', 'SecretsAdminToken') },
              ' --query SecretString --output text',
            ],
          ],
        },
      });
      template.hasOutput('ControlApiUrl', {
        Value: { 'Fn::GetAtt': [logicalId('AWS::ApiGatewayV2::Api', 'ControlApiHttpApi'), 'ApiEndpoint'] },
      });
      template.hasOutput('ConsoleUrl', {
        Value: {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [logicalId('AWS::CloudFront::Distribution', 'ConsoleDistribution'), 'DomainName'] }],
          ],
        },
      });
    });
  });

  it('is environment-agnostic (no account or region in the template), so it synthesizes without AWS', () => {
    expect(platform.stack.account).toMatch(/^\$\{Token/);
    expect(platform.stack.region).toMatch(/^\$\{Token/);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/\b\d{12}\b/);
  });
});
