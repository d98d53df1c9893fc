import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { ensureStateTable } from '../../lambdas/adapters/dynamodb/create-state-table';
import { BlockCluster } from '../../lib/block-cluster';
import { KintoPlatformStack } from '../../lib/platform-stack';
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
          'SERVICE_DATA_FUNCTION_NAME',
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
          Sid: 'ServiceData',
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'BlocksServiceDataLambdaFunction'), 'Arn'] },
        },
        {
          Sid: 'EnvironmentStackExists',
          Effect: 'Allow',
          Action: 'cloudformation:DescribeStacks',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':cloudformation:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':stack/kinto-env-*/*',
              ],
            ],
          },
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
    const subnetsRoutedTo = (gateway: string) =>
      ofType('AWS::EC2::Route')
        .filter(([, r]) => r.Properties[gateway] !== undefined)
        .map(([, r]) => [r.Properties.DestinationCidrBlock ?? r.Properties.DestinationIpv6CidrBlock, r.Properties.RouteTableId.Ref]);

    it('is dual-stack without a NAT gateway: public subnets (tasks) route to the internet gateway, private ones (functions) have IPv6 egress only', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::EIP', 0);
      template.resourceCountIs('AWS::EC2::VPCCidrBlock', 1);
      template.hasResourceProperties('AWS::EC2::VPCCidrBlock', { AmazonProvidedIpv6CidrBlock: true });
      template.resourceCountIs('AWS::EC2::Subnet', 4);
      // Every subnet has an IPv6 range, and none gives a public IPv4 address by default (tasks ask for one).
      template.allResourcesProperties('AWS::EC2::Subnet', { Ipv6CidrBlock: Match.anyValue(), MapPublicIpOnLaunch: false });
      template.resourceCountIs('AWS::EC2::InternetGateway', 1);
      template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 1);
      const publicTables = ofType('AWS::EC2::RouteTable')
        .map(([id]) => id)
        .filter((id) => id.includes('public'));
      const privateTables = ofType('AWS::EC2::RouteTable')
        .map(([id]) => id)
        .filter((id) => id.includes('private'));
      expect(publicTables).toHaveLength(2);
      expect(privateTables).toHaveLength(2);
      expect(subnetsRoutedTo('GatewayId').sort()).toEqual(
        [...publicTables.map((t) => ['0.0.0.0/0', t]), ...publicTables.map((t) => ['::/0', t])].sort(),
      );
      expect(subnetsRoutedTo('EgressOnlyInternetGatewayId').sort()).toEqual(privateTables.map((t) => ['::/0', t]).sort());
      // No IPv4 default route for the private subnets: without the NAT opt-in they have none.
      expect(
        ofType('AWS::EC2::Route').filter(
          ([, r]) => privateTables.includes(r.Properties.RouteTableId.Ref) && r.Properties.DestinationCidrBlock,
        ),
      ).toEqual([]);
    });

    it("keeps custom services' data on an encrypted, retained EFS file system that admits mounts through access points over TLS only", () => {
      template.resourceCountIs('AWS::EFS::FileSystem', 1);
      const [[fsId, fs]] = ofType('AWS::EFS::FileSystem');
      expect(fs.DeletionPolicy).toBe('Retain');
      expect(fs.Properties).toMatchObject({
        Encrypted: true,
        ThroughputMode: 'elastic',
        PerformanceMode: 'generalPurpose',
        LifecyclePolicies: [{ TransitionToIA: 'AFTER_30_DAYS' }, { TransitionToPrimaryStorageClass: 'AFTER_1_ACCESS' }],
      });
      expect(fs.Properties.BackupPolicy).toBeUndefined();
      const statements = fs.Properties.FileSystemPolicy.Statement as { Sid: string; Effect: string; Condition: unknown }[];
      expect(statements.map((st) => [st.Sid, st.Effect, st.Condition])).toEqual([
        ['TlsOnly', 'Deny', { Bool: { 'aws:SecureTransport': 'false' } }],
        ['AccessPointsOnly', 'Deny', { Null: { 'elasticfilesystem:AccessPointArn': 'true' } }],
      ]);
      // No statement allows anyone: mounts need the task role's own grant (IAM authorization).
      expect(statements.filter((st) => st.Effect === 'Allow')).toEqual([]);
      // A mount target in each private subnet, behind a group that admits NFS from the tasks' group and the service-data function alone.
      const targets = ofType('AWS::EFS::MountTarget');
      expect(targets).toHaveLength(2);
      for (const [, t] of targets) {
        expect(t.Properties.FileSystemId).toEqual({ Ref: fsId });
        expect(t.Properties.SubnetId.Ref).toMatch(/privateSubnet/);
      }
      const dataGroup = targets[0][1].Properties.SecurityGroups[0]['Fn::GetAtt'][0] as string;
      const ingress = ofType('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === dataGroup);
      expect(ingress.map(([, r]) => r.Properties)).toEqual([
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: 2049,
          ToPort: 2049,
          SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId('AWS::EC2::SecurityGroup', 'BlocksTasksSecurityGroup'), 'GroupId'] },
        }),
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: 2049,
          ToPort: 2049,
          SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId('AWS::EC2::SecurityGroup', 'BlocksServiceDataSecurityGroup'), 'GroupId'] },
        }),
      ]);
      expect(resources[dataGroup].Properties.SecurityGroupIngress).toBeUndefined();
    });

    it("names and deletes deleted environments' data with one function: /kinto as root through its own access point, NFS only, the API its only caller", () => {
      const fsId = logicalId('AWS::EFS::FileSystem', 'BlocksData');
      const fnId = logicalId('AWS::Lambda::Function', 'BlocksServiceDataLambdaFunction');
      const apId = logicalId('AWS::EFS::AccessPoint', 'BlocksServiceDataAccessPoint');
      const sgId = logicalId('AWS::EC2::SecurityGroup', 'BlocksServiceDataSecurityGroup');
      // The stack's only access point: environments' access points are in their own stacks.
      template.resourceCountIs('AWS::EFS::AccessPoint', 1);
      expect(resources[apId].Properties).toEqual({
        FileSystemId: { Ref: fsId },
        PosixUser: { Uid: '0', Gid: '0' },
        RootDirectory: { Path: '/kinto', CreationInfo: { OwnerUid: '0', OwnerGid: '0', Permissions: '755' } },
        AccessPointTags: expect.any(Array),
      });
      const fn = resources[fnId];
      const apArn = fn.Properties.FileSystemConfigs[0].Arn;
      expect(apArn['Fn::Join'][1]).toEqual(expect.arrayContaining([':access-point/', { Ref: apId }]));
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 25,
        FileSystemConfigs: [{ Arn: apArn, LocalMountPath: '/mnt/kinto' }],
        VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }] },
        Environment: { Variables: { FILE_SYSTEM_ID: { Ref: fsId } } },
      });
      for (const subnet of fn.Properties.VpcConfig.SubnetIds) expect(subnet.Ref).toMatch(/privateSubnet/);
      // Its group admits nothing and reaches the mount targets over NFS, nothing else.
      const group = resources[sgId].Properties;
      expect(group.SecurityGroupIngress).toBeUndefined();
      // Its one egress rule is a resource of its own (CloudFormation then drops the default allow-all rule).
      expect(group.SecurityGroupEgress).toBeUndefined();
      const egress = ofType('AWS::EC2::SecurityGroupEgress').filter(([, r]) => r.Properties.GroupId['Fn::GetAtt']?.[0] === sgId);
      const dataGroup = ofType('AWS::EFS::MountTarget')[0][1].Properties.SecurityGroups[0];
      expect(egress.map(([, r]) => r.Properties)).toEqual([
        expect.objectContaining({ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, DestinationSecurityGroupId: dataGroup }),
      ]);
      const ingress = ofType('AWS::EC2::SecurityGroupIngress').filter(
        ([, r]) =>
          r.Properties.GroupId['Fn::GetAtt']?.[0] === dataGroup['Fn::GetAtt'][0] &&
          r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0] === sgId,
      );
      expect(ingress.map(([, r]) => [r.Properties.FromPort, r.Properties.ToPort])).toEqual([[2049, 2049]]);
      // Root access on this access point alone; network interfaces (no resource-level permissions); its logs.
      const role = logicalId('AWS::IAM::Role', 'BlocksServiceDataLambdaRole');
      expect(resources[role].Properties.ManagedPolicyArns).toBeUndefined();
      const statements = policyOf(role) as Record<string, any>[];
      expect(statements.find((st) => st.Sid === 'MountKintoFolderAsRoot')).toEqual({
        Sid: 'MountKintoFolderAsRoot',
        Effect: 'Allow',
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
        Resource: expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([':file-system/', { Ref: fsId }])] }),
        Condition: { StringEquals: { 'elasticfilesystem:AccessPointArn': apArn } },
      });
      expect(statements.find((st) => st.Sid === 'NetworkInterfaces')).toMatchObject({
        Resource: '*',
        Action: expect.arrayContaining(['ec2:CreateNetworkInterface']),
      });
      expect(statements.map((st) => st.Sid ?? 'logs').sort()).toEqual(['MountKintoFolderAsRoot', 'NetworkInterfaces', 'logs']);
      // No one else may mount /kinto: no other role names this access point or root access.
      const others = ofType('AWS::IAM::Policy').filter(([, p]) => !p.Properties.Roles.some((r: { Ref?: string }) => r.Ref === role));
      expect(JSON.stringify(others)).not.toContain(apId);
      expect(JSON.stringify(others)).not.toContain('ClientRootAccess');
    });

    it('gives functions IPv4 egress through NAT gateways only when asked (natGateways), and refuses more NATs than AZs', () => {
      const stack = new Stack(new App(), 'NatOptIn');
      new BlockCluster(stack, 'Blocks', { natGateways: 1 });
      const nat = Template.fromStack(stack);
      nat.resourceCountIs('AWS::EC2::NatGateway', 1);
      nat.resourceCountIs('AWS::EC2::EIP', 1);
      const routes = Object.values(nat.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === 'AWS::EC2::Route');
      // Both private subnets: 0.0.0.0/0 to the NAT, ::/0 still to the egress-only gateway.
      expect(routes.filter((r) => r.Properties.NatGatewayId).map((r) => r.Properties.DestinationCidrBlock)).toEqual([
        '0.0.0.0/0',
        '0.0.0.0/0',
      ]);
      expect(routes.filter((r) => r.Properties.EgressOnlyInternetGatewayId)).toHaveLength(2);
      // The platform takes it from the command line: npx cdk deploy -c natGateways=1 (caches kept out of the real home).
      const saved = { HOME: process.env.HOME, CDK_HOME: process.env.CDK_HOME };
      const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
      Object.assign(process.env, { HOME: home, CDK_HOME: home });
      try {
        const app = new App({ context: { natGateways: '1', 'aws:cdk:bundling-stacks': [] }, outdir: join(home, 'out') });
        Template.fromStack(new KintoPlatformStack(app, 'WithNat', { consoleAssetsPath: join(home, 'no-console') })).resourceCountIs(
          'AWS::EC2::NatGateway',
          1,
        );
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
        rmSync(home, { recursive: true, force: true });
      }
      expect(() => new KintoPlatformStack(new App({ context: { natGateways: 'one' } }), 'Bad')).toThrow(
        /natGateways context must be a whole number/,
      );
      expect(() => new BlockCluster(new Stack(new App(), 'TooMany'), 'Blocks', { natGateways: 3 })).toThrow(
        /natGateways must be a whole number from 0 \(the default: IPv6 egress only\) to maxAzs \(2\), got 3/,
      );
    });

    it('names services in one private DNS namespace, kinto.internal, in the VPC, with a 10-second negative-caching TTL', () => {
      template.resourceCountIs('AWS::ServiceDiscovery::PrivateDnsNamespace', 1);
      template.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', {
        Name: 'kinto.internal',
        Vpc: { Ref: logicalId('AWS::EC2::VPC', 'BlocksVpc') },
        Properties: { DnsProperties: { SOA: { TTL: 10 } } },
      });
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

  describe('Construct: ServiceWaker (issue 21)', () => {
    const statementsOf = (roleId: string) =>
      policyOf(roleId) as { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[];
    const sid = (roleId: string, id: string) => statementsOf(roleId).find((st) => st.Sid === id)!;

    it('lets CloudWatch Logs of this account invoke the waker for /kinto/env/* groups only', () => {
      const waker = logicalId('AWS::Lambda::Function', 'ServiceWakerFunction');
      const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === waker);
      expect(permissions).toHaveLength(1);
      expect(permissions[0][1].Properties).toMatchObject({ Principal: 'logs.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' } });
      expect(JSON.stringify(permissions[0][1].Properties.SourceArn)).toContain(':log-group:/kinto/env/*');
    });

    it('lets the waker and reaper change only environment services of the platform cluster, and schedules of their own group', () => {
      const cluster = logicalId('AWS::ECS::Cluster', 'BlocksCluster');
      for (const role of ['ServiceWakerRole', 'ServiceWakerReaperRole']) {
        const id = logicalId('AWS::IAM::Role', role);
        expect(sid(id, 'EnvironmentServices').Action).toEqual(['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:TagResource']);
        expect(JSON.stringify(sid(id, 'EnvironmentServices').Resource)).toContain(`{"Ref":"${cluster}"},"/kinto-????????????-*"`);
      }
      const waker = logicalId('AWS::IAM::Role', 'ServiceWakerRole');
      const reaper = logicalId('AWS::IAM::Role', 'ServiceWakerReaperRole');
      expect(sid(waker, 'ListClusterServices')).toMatchObject({
        Action: 'ecs:ListServices',
        Resource: '*',
        Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [cluster, 'Arn'] } } },
      });
      const group = logicalId('AWS::Scheduler::ScheduleGroup', 'ServiceWakerReaperSchedules');
      expect(sid(waker, 'MakeSchedules').Action).toBe('scheduler:CreateSchedule');
      expect(sid(reaper, 'RemoveSchedules').Action).toBe('scheduler:DeleteSchedule');
      for (const [role, statement] of [
        [waker, 'MakeSchedules'],
        [reaper, 'RemoveSchedules'],
      ] as const)
        expect(JSON.stringify(sid(role, statement).Resource)).toContain(`":schedule/",{"Ref":"${group}"},"/*"`);
      expect(sid(waker, 'PassSchedulerRole')).toMatchObject({
        Resource: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'ServiceWakerSchedulerRole'), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      });
      // The reaper never wakes anything nor makes schedules; neither may touch task definitions or roles.
      const reaperActions = statementsOf(reaper).flatMap((st) => [st.Action].flat());
      expect(reaperActions).not.toContain('scheduler:CreateSchedule');
      for (const role of [waker, reaper])
        expect(
          statementsOf(role)
            .flatMap((st) => [st.Action].flat())
            .filter((a) => /RegisterTaskDefinition|iam:Create|ecs:CreateService/.test(a)),
        ).toEqual([]);
    });

    it('lets reaper schedules invoke the reaper and nothing else, for schedules of this account', () => {
      const role = resources[logicalId('AWS::IAM::Role', 'ServiceWakerSchedulerRole')];
      expect(role.Properties.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      expect(policyOf(logicalId('AWS::IAM::Role', 'ServiceWakerSchedulerRole'))).toEqual([
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Resource: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'ServiceWakerReaperFunction'), 'Arn'] },
        }),
      ]);
    });

    it('retries no reaper run (the schedule runs it again a minute later), and tells each function its cluster and schedule group', () => {
      const reaper = functionNamed('ServiceWakerReaperFunction');
      const waker = functionNamed('ServiceWakerFunction');
      const group = { Ref: logicalId('AWS::Scheduler::ScheduleGroup', 'ServiceWakerReaperSchedules') };
      const cluster = { 'Fn::GetAtt': [logicalId('AWS::ECS::Cluster', 'BlocksCluster'), 'Arn'] };
      expect(reaper.Properties.Environment.Variables).toMatchObject({ CLUSTER_ARN: cluster, REAPER_SCHEDULE_GROUP: group });
      expect(waker.Properties.Environment.Variables).toMatchObject({
        CLUSTER_ARN: cluster,
        REAPER_SCHEDULE_GROUP: group,
        REAPER_FUNCTION_ARN: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'ServiceWakerReaperFunction'), 'Arn'] },
      });
      const [invokeConfig] = ofType('AWS::Lambda::EventInvokeConfig').filter(([, c]) =>
        JSON.stringify(c.Properties.FunctionName).includes('ServiceWakerReaper'),
      );
      expect(invokeConfig[1].Properties.MaximumRetryAttempts).toBe(0);
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
          'BLOCK_SERVICES',
          'GATEWAY_FUNCTION_ARN',
          'IMAGE_REPOSITORY_ARN',
          'LOG_INDEXER_FUNCTION_ARN',
          'PERMISSIONS_BOUNDARY_ARN',
          'PLATFORM_KEY_SECRET_ARN',
          // Custom services are woken before jobs, as the service waker does (readDeployerConfig's serviceWaking).
          'REAPER_FUNCTION_ARN',
          'REAPER_ROLE_ARN',
          'REAPER_SCHEDULE_GROUP',
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

    it("lets the deployer wake environments' custom services before jobs exactly as the waker may, and nothing more of ECS or Scheduler", () => {
      const deployer = logicalId('AWS::IAM::Role', 'DeployerLambdaRole');
      const waker = logicalId('AWS::IAM::Role', 'ServiceWakerRole');
      const cluster = logicalId('AWS::ECS::Cluster', 'BlocksCluster');
      const group = logicalId('AWS::Scheduler::ScheduleGroup', 'ServiceWakerReaperSchedules');
      expect(sid(deployer, 'ListClusterServices')).toMatchObject({
        Action: 'ecs:ListServices',
        Resource: '*',
        Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [cluster, 'Arn'] } } },
      });
      expect(sid(deployer, 'EnvironmentServices')!.Action).toEqual(['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:TagResource']);
      expect(JSON.stringify(sid(deployer, 'EnvironmentServices')!.Resource)).toContain(`{"Ref":"${cluster}"},"/kinto-????????????-*"`);
      expect(sid(deployer, 'MakeSchedules')!.Action).toBe('scheduler:CreateSchedule');
      expect(JSON.stringify(sid(deployer, 'MakeSchedules')!.Resource)).toContain(`":schedule/",{"Ref":"${group}"},"/*"`);
      expect(sid(deployer, 'PassSchedulerRole')).toMatchObject({
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'ServiceWakerSchedulerRole'), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      });
      // The very statements the waker has: one grant, two roles.
      for (const id of ['ListClusterServices', 'EnvironmentServices', 'MakeSchedules', 'PassSchedulerRole'])
        expect(sid(deployer, id)).toEqual(sid(waker, id));
      // Nothing else of ECS or Scheduler: no task of its own, no schedule deleted or changed, no other role passed to Scheduler.
      const actions = statementsOf(deployer).flatMap((st) => [st.Action].flat());
      expect(actions.filter((a) => /^(ecs|scheduler):/.test(a)).sort()).toEqual(
        ['ecs:DescribeServices', 'ecs:ListServices', 'ecs:TagResource', 'ecs:UpdateService', 'scheduler:CreateSchedule'].sort(),
      );
      const passRoles = statementsOf(deployer).filter((st) => [st.Action].flat().includes('iam:PassRole'));
      expect(passRoles.map((st) => st.Sid)).toEqual(['PassStackRole', 'PassSchedulerRole']);
      const env = functionNamed('DeployerLambdaFunction').Properties.Environment.Variables;
      expect(env).toMatchObject({
        REAPER_SCHEDULE_GROUP: { Ref: group },
        REAPER_FUNCTION_ARN: { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'ServiceWakerReaperFunction'), 'Arn'] },
        REAPER_ROLE_ARN: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'ServiceWakerSchedulerRole'), 'Arn'] },
      });
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
      expect(allowed).toEqual(
        [
          'lambda:InvokeFunction',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          // Custom services: functions in the VPC (Lambda's network interfaces), tasks pulling images and mounting data.
          'ec2:AssignPrivateIpAddresses',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:UnassignPrivateIpAddresses',
          'ecr:BatchCheckLayerAvailability',
          'ecr:BatchGetImage',
          'ecr:GetAuthorizationToken',
          'ecr:GetDownloadUrlForLayer',
          'elasticfilesystem:ClientMount',
          'elasticfilesystem:ClientWrite',
        ].sort(),
      );
      const statement = (id: string) =>
        (boundary.Properties.PolicyDocument.Statement as { Sid: string; Resource: unknown }[]).find((st) => st.Sid === id)!;
      expect(statement('ServicesPullImages').Resource).toEqual({
        'Fn::GetAtt': [logicalId('AWS::ECR::Repository', 'BuildsImages'), 'Arn'],
      });
      expect(statement('ServicesMountTheirData').Resource).toEqual({
        'Fn::GetAtt': [logicalId('AWS::EFS::FileSystem', 'BlocksData'), 'Arn'],
      });
      // Nothing in the boundary lets a block's role write data of other services, or call ECS.
      expect(allowed.filter((a) => a.startsWith('ecs:') || a === 'elasticfilesystem:ClientRootAccess')).toEqual([]);
    });

    it('lets CloudFormation make custom services only in the platform cluster, VPC, file system and namespace', () => {
      const stackRole = logicalId('AWS::IAM::Role', 'DeployerStackRole');
      const cluster = logicalId('AWS::ECS::Cluster', 'BlocksCluster');
      expect(JSON.stringify(sid(stackRole, 'ServiceEcsServices')!.Resource)).toContain(`{"Ref":"${cluster}"},"/kinto-????????????-*"`);
      const vpcCondition = { ArnEquals: { 'ec2:Vpc': expect.objectContaining({ 'Fn::Join': expect.anything() }) } };
      expect(sid(stackRole, 'ServiceSecurityGroupsInTheVpc')).toMatchObject({ Condition: vpcCondition });
      expect(JSON.stringify(sid(stackRole, 'ServiceSecurityGroupsInTheVpc')!.Condition)).toContain(logicalId('AWS::EC2::VPC', 'BlocksVpc'));
      expect(JSON.stringify(sid(stackRole, 'ServiceAccessPointsCreate')!.Resource)).toContain(
        logicalId('AWS::EFS::FileSystem', 'BlocksData'),
      );
      const namespace = logicalId('AWS::ServiceDiscovery::PrivateDnsNamespace', 'BlocksNamespace');
      for (const id of ['ServiceNames', 'ServiceNamesChange'])
        expect(sid(stackRole, id)!.Condition).toEqual({
          StringEquals: { 'servicediscovery:NamespaceArn': { 'Fn::GetAtt': [namespace, 'Arn'] } },
        });
      expect(sid(stackRole, 'PassServiceTaskRoles')).toMatchObject({
        Action: 'iam:PassRole',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      });
      // No namespace, hosted zone, file system or cluster of its own: those are the platform's.
      const actions = statementsOf(stackRole).flatMap((st) => [st.Action].flat());
      for (const never of [
        'servicediscovery:CreatePrivateDnsNamespace',
        'route53:CreateHostedZone',
        'elasticfilesystem:CreateFileSystem',
        'ecs:CreateCluster',
        'ec2:CreateVpc',
      ])
        expect(actions).not.toContain(never);
    });

    it('tells the deployer where custom services run (BLOCK_SERVICES, read by readDeployerConfig)', () => {
      const json = functionNamed('DeployerLambdaFunction').Properties.Environment.Variables.BLOCK_SERVICES as {
        'Fn::Join': [string, unknown[]];
      };
      const text = json['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
      for (const field of [
        'clusterArn',
        'clusterName',
        'vpcId',
        'taskSubnetIds',
        'functionSubnetIds',
        'tasksSecurityGroupId',
        'fileSystemId',
        'fileSystemArn',
        'namespaceId',
        'namespaceArn',
        'wakerFunctionArn',
      ])
        expect(text).toContain(`"${field}"`);
      expect(text).toContain(logicalId('AWS::Lambda::Function', 'ServiceWakerFunction'));
      expect(text).toContain(logicalId('AWS::EFS::FileSystem', 'BlocksData'));
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
