import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LogIndexer } from '../../lib/log-indexer';
import { LogsTable } from '../../lib/logs-table';

// Keep aws-cdk-lib's caches and the synthesized assets out of the real home.
const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
process.env.CDK_HOME = home;
process.env.HOME = home;

interface Synth {
  readonly template: Template;
  readonly indexer: LogIndexer;
  readonly stack: Stack;
}

/** Two stacks (defaults; custom props) in one app, synthesized once (with esbuild bundling) for the file. */
function synthAll(): { main: Synth; custom: Synth; outdir: string } {
  const outdir = mkdtempSync(join(home, 'out-'));
  const app = new App({ outdir });
  const build = (name: string, custom: boolean): (() => Synth) => {
    const stack = new Stack(app, name, { env: { account: '111122223333', region: 'eu-west-1' } });
    const logsTable = new LogsTable(
      stack,
      'Logs',
      custom ? { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY, pointInTimeRecovery: false } : {},
    );
    const indexer = new LogIndexer(stack, 'LogIndexer', {
      logsTable: logsTable.table,
      ...(custom
        ? { retention: Duration.hours(12), metricsNamespace: 'Acme/Kinto', memorySize: 1024, logRetention: logs.RetentionDays.ONE_WEEK }
        : {}),
    });
    const gatewayLogs = new logs.LogGroup(stack, 'GatewayLogs', { logGroupName: '/kinto/env/e1/gateway' });
    indexer.subscribe('GatewaySubscription', gatewayLogs);
    const deployer = new iam.Role(stack, 'Deployer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    indexer.grantSubscribe(deployer);
    const api = new iam.Role(stack, 'Api', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logsTable.grantReadLogs(api);
    return () => ({ template: Template.fromStack(stack), indexer, stack });
  };
  const main = build('Default', false);
  const custom = build('Custom', true);
  app.synth();
  return { main: main(), custom: custom(), outdir };
}

describe('Constructs: LogsTable and LogIndexer', () => {
  let main: Synth;
  let custom: Synth;
  let outdir: string;
  beforeAll(() => {
    ({ main, custom, outdir } = synthAll());
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  describe('Construct: LogsTable', () => {
    it('is on-demand, encrypted with the AWS managed key, with PITR, TTL on expiresAt and deletion protection', () => {
      main.template.resourceCountIs('AWS::DynamoDB::Table', 1);
      main.template.hasResourceProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      });
      main.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('has the byEnv and byBlock indexes of the key design', () => {
      main.template.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byEnv',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'byBlock',
            KeySchema: [
              { AttributeName: 'gsi2pk', KeyType: 'HASH' },
              { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      });
    });

    it('takes its protections as props', () => {
      custom.template.hasResourceProperties('AWS::DynamoDB::Table', {
        DeletionProtectionEnabled: false,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      });
      custom.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    });

    it('grants readers Query only, on the table and its two named indexes', () => {
      const index = (name: string) => ({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LogsTable'), 'Arn'] }, `/index/${name}`]],
      });
      main.template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^Api') }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'dynamodb:Query',
              Resource: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LogsTable'), 'Arn'] }, index('byEnv'), index('byBlock')],
            },
          ],
        },
      });
    });

    it('refuses a snapshot removal policy with a clear message', () => {
      const stack = new Stack(new App());
      expect(() => new LogsTable(stack, 'Bad', { removalPolicy: RemovalPolicy.SNAPSHOT })).toThrow(
        /cannot be snapshotted on delete; use RemovalPolicy.RETAIN or DESTROY/,
      );
    });
  });

  describe('Construct: LogIndexer', () => {
    it('runs the log-indexer handler on Node.js 24, arm64, with its settings', () => {
      main.template.resourceCountIs('AWS::Lambda::Function', 1);
      main.template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: 60,
        Environment: {
          Variables: {
            KINTO_LOGS_TABLE: { Ref: Match.stringLikeRegexp('^LogsTable') },
            KINTO_LOG_RETENTION_HOURS: '48',
            KINTO_METRICS_NAMESPACE: 'Kinto',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^LogIndexerLambdaLogGroup') } },
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogIndexerDeadLetterQueue'), 'Arn'] } },
      });
      custom.template.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 1024,
        Environment: { Variables: Match.objectLike({ KINTO_LOG_RETENTION_HOURS: '12', KINTO_METRICS_NAMESPACE: 'Acme/Kinto' }) },
      });
    });

    it('is bundled by the local esbuild (no Docker) into a single file', () => {
      const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
      expect(assets.some((d) => existsSync(join(outdir, d, 'index.js')))).toBe(true);
    });

    it('has its own log group with retention, and async retries into an encrypted dead-letter queue', () => {
      main.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, LogGroupName: Match.absent() });
      custom.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7, LogGroupName: Match.absent() });
      main.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
      main.template.resourceCountIs('AWS::SQS::Queue', 1);
      main.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    });

    it('may write its log group and BatchWriteItem/UpdateItem on the logs table, nothing more', () => {
      const policies = main.template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^LogIndexerLambdaRole') }] },
      });
      const statements = Object.values(policies).flatMap(
        (p) => (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement,
      );
      // Exactly these three statements, in any order.
      expect(statements).toHaveLength(3);
      expect(statements).toEqual(
        expect.arrayContaining([
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: [
              {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':logs:eu-west-1:111122223333:log-group:',
                    { Ref: expect.stringMatching(/^LogIndexerLambdaLogGroup/) },
                  ],
                ],
              },
              { 'Fn::GetAtt': [expect.stringMatching(/^LogIndexerLambdaLogGroup/), 'Arn'] },
            ],
          },
          {
            Effect: 'Allow',
            Action: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LogsTable/), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LogIndexerDeadLetterQueue/), 'Arn'] },
          },
        ]),
      );
      main.template.hasResourceProperties('AWS::IAM::Role', {
        ManagedPolicyArns: Match.absent(),
        AssumeRolePolicyDocument: {
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        },
      });
    });

    it('subscribes a log group: a filter for every event and the permission for CloudWatch Logs', () => {
      main.template.resourceCountIs('AWS::Logs::SubscriptionFilter', 1);
      main.template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
        LogGroupName: { Ref: Match.stringLikeRegexp('^GatewayLogs') },
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogIndexerLambdaFunction'), 'Arn'] },
        FilterPattern: '',
        FilterName: 'kinto-log-indexer',
      });
      main.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'logs.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GatewayLogs'), 'Arn'] },
      });
    });

    it('lets CloudWatch Logs of this account invoke it for the /kinto/env/ groups the deployer creates', () => {
      main.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'logs.amazonaws.com',
        SourceAccount: '111122223333',
        SourceArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111122223333:log-group:/kinto/env/*']] },
      });
      main.template.resourceCountIs('AWS::Lambda::Permission', 2);
      main.template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^Deployer') }],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:PutSubscriptionFilter', 'logs:DeleteSubscriptionFilter'],
              Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111122223333:log-group:/kinto/env/*']] },
            },
          ],
        },
      });
      expect(main.stack.resolve(main.indexer.subscriptionSettings)).toEqual({
        destinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^LogIndexerLambdaFunction/), 'Arn'] },
        filterName: 'kinto-log-indexer',
        filterPattern: '',
      });
    });

    it('refuses bad settings with the value and the fix', () => {
      const stack = new Stack(new App());
      const table = new LogsTable(stack, 'T').table;
      expect(() => new LogIndexer(stack, 'A', { logsTable: table, retention: Duration.minutes(30) })).toThrow(
        /retention must be whole hours from 1 hour to 366 days, got 0.5 hours/,
      );
      expect(() => new LogIndexer(stack, 'B', { logsTable: table, memorySize: 64 })).toThrow(
        /memorySize must be a whole number of MiB from 128 to 10240, got 64/,
      );
      expect(() => new LogIndexer(stack, 'C', { logsTable: table, metricsNamespace: 'AWS/Lambda' })).toThrow(
        /metricsNamespace .* got "AWS\/Lambda"/,
      );
    });

    it('passes cdk-nag AwsSolutions (acknowledgements carry their reasons)', () => {
      const report = new AwsSolutionsChecks(main.stack).validateScope(main.stack);
      expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    });

    it('refuses to subscribe its own log group', () => {
      expect(() => main.indexer.subscribe('Loop', main.indexer.logGroup)).toThrow(/its own log group would feed it its own output forever/);
    });
  });
});
