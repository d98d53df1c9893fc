import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GatewayAuthorizer, type GatewayAuthorizerProps } from '../../lib/gateway-authorizer';

// Keep aws-cdk-lib's caches and the synthesized assets out of the real home.
const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
process.env.CDK_HOME = home;
process.env.HOME = home;

interface Synth {
  template: Template;
  outdir: string;
  authorizer: GatewayAuthorizer;
}

/** A stack with the construct and an HttpApi route using its authorizer. */
function addStack(app: App, name: string, props: Partial<GatewayAuthorizerProps> = {}): () => Synth {
  const stack = new Stack(app, name, { env: { account: '111122223333', region: 'eu-west-1' } });
  const table = new dynamodb.Table(stack, 'State', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
  });
  const secret = new secretsmanager.Secret(stack, 'PlatformKey');
  const authorizer = new GatewayAuthorizer(stack, 'GatewayAuthorizer', { stateTable: table, platformKey: secret, ...props });
  const api = new HttpApi(stack, 'EnvApi');
  api.addRoutes({
    path: '/{block}/{proxy+}',
    methods: [HttpMethod.ANY],
    integration: new HttpUrlIntegration('Block', 'https://example.com'),
    authorizer: authorizer.authorizer,
  });
  return () => ({ template: Template.fromStack(stack), outdir: app.outdir, authorizer });
}

/** Both stacks (defaults, custom props) in one app, synthesized once for the whole file. */
function synthAll(): { main: Synth; custom: Synth } {
  const app = new App({ outdir: mkdtempSync(join(home, 'out-')), context: { 'aws:cdk:enable-asset-metadata': true } });
  const main = addStack(app, 'Default');
  const custom = addStack(app, 'Custom', {
    resultsCacheTtl: Duration.seconds(60),
    inLambdaCacheTtl: Duration.seconds(5),
    issuer: 'kinto-prod',
    memorySize: 512,
    logRetention: logs.RetentionDays.ONE_WEEK,
  });
  app.synth();
  return { main: main(), custom: custom() };
}

describe('Construct: GatewayAuthorizer', () => {
  let main: Synth;
  let custom: Synth;
  beforeAll(() => {
    ({ main, custom } = synthAll());
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  describe('Resource: the function', () => {
    it('runs Node.js 24 on arm64 with the authorizer handler and its configuration', () => {
      main.template.resourceCountIs('AWS::Lambda::Function', 1);
      main.template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 256,
        Timeout: 5,
        LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^GatewayAuthorizerLambdaLogGroup') } },
        Environment: {
          Variables: {
            STATE_TABLE_NAME: { Ref: Match.stringLikeRegexp('^State') },
            PLATFORM_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp('^PlatformKey') },
            KINTO_TOKEN_ISSUER: 'kinto',
            KINTO_AUTH_CACHE_SECONDS: '30',
          },
        },
      });
    });

    it('writes to its own log group, kept one month', () => {
      main.template.resourceCountIs('AWS::Logs::LogGroup', 1);
      main.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });

    it('is bundled locally, minified, under 25 KB, without the AWS SDK (the runtime provides it)', () => {
      const fn = main.template.findResources('AWS::Lambda::Function');
      const asset = Object.values(fn)[0].Metadata['aws:asset:path'] as string;
      const code = readFileSync(join(main.outdir, asset, 'index.js'), 'utf8');
      expect(statSync(join(main.outdir, asset, 'index.js')).size).toBeLessThanOrEqual(25 * 1024);
      expect(code).toContain('require("@aws-sdk/client-dynamodb")');
      expect(code).toContain('require("@aws-sdk/client-secrets-manager")');
      expect(code).not.toMatch(/DynamoDBClient\s*=\s*class|class DynamoDBClient/);
      // Minified: no long runs of indentation.
      expect(code.split('\n').length).toBeLessThan(20);
    });
  });

  describe('Resource: the role', () => {
    it('uses no AWS managed policy', () => {
      main.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
        ManagedPolicyArns: Match.absent(),
      });
    });

    it('may write its log group, read the platform key and GetItem on the state table, nothing else', () => {
      const policies = main.template.findResources('AWS::IAM::Policy');
      const statements = Object.values(policies).flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
      const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
      expect(actions).toEqual([
        'dynamodb:GetItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      const dynamo = statements.find((s) => s.Action === 'dynamodb:GetItem')!;
      // The table itself, not its indexes, not '*'.
      expect(dynamo.Resource).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^State/), 'Arn'] }]);
      expect(JSON.stringify(statements.map((s) => s.Resource))).not.toContain('"*"');
    });
  });

  describe('Resource: the HTTP API authorizer', () => {
    it('is a REQUEST authorizer on Kinto-Authorization, payload 2.0, simple responses, cached 300 s', () => {
      main.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      main.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'REQUEST',
        IdentitySource: ['$request.header.Kinto-Authorization'],
        AuthorizerPayloadFormatVersion: '2.0',
        EnableSimpleResponses: true,
        AuthorizerResultTtlInSeconds: 300,
      });
      main.template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /{block}/{proxy+}', AuthorizationType: 'CUSTOM' });
    });

    it('lets API Gateway of this account invoke it as an authorizer of the APIs the deployer creates', () => {
      main.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: '111122223333',
        SourceArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:111122223333:*/authorizers/*']] },
      });
    });

    it('exposes the settings the deployer passes to CreateAuthorizer', () => {
      const s = main.authorizer.settings;
      expect(s).toMatchObject({
        authorizerType: 'REQUEST',
        identitySource: ['$request.header.Kinto-Authorization'],
        authorizerPayloadFormatVersion: '2.0',
        enableSimpleResponses: true,
        authorizerResultTtlInSeconds: 300,
      });
      expect(Stack.of(main.authorizer).resolve(s.authorizerUri)).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':apigateway:eu-west-1:lambda:path/2015-03-31/functions/',
            { 'Fn::GetAtt': [expect.stringMatching(/^GatewayAuthorizerLambdaFunction/), 'Arn'] },
            '/invocations',
          ],
        ],
      });
    });
  });

  describe('Props', () => {
    it('takes a result cache TTL, in-Lambda cache, issuer, memory and log retention', () => {
      custom.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerResultTtlInSeconds: 60 });
      custom.template.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 512,
        Environment: { Variables: Match.objectLike({ KINTO_TOKEN_ISSUER: 'kinto-prod', KINTO_AUTH_CACHE_SECONDS: '5' }) },
      });
      custom.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
      expect(custom.authorizer.settings.authorizerResultTtlInSeconds).toBe(60);
    });

    it.each([
      ['a result cache over an hour', { resultsCacheTtl: Duration.hours(2) }, /resultsCacheTtl must be from 0 to 3600 seconds.*got 7200/],
      [
        'an in-Lambda cache over an hour',
        { inLambdaCacheTtl: Duration.hours(2) },
        /inLambdaCacheTtl must be from 0 to 3600 seconds.*got 7200/,
      ],
      ['a fractional memory size', { memorySize: 200.5 }, /memorySize must be a whole number.*got 200.5/],
      ['an issuer with spaces', { issuer: 'my issuer' }, /issuer must be .* got "my issuer"/],
    ])('refuses %s, saying what it got', (_what, props, message) => {
      const stack = new Stack(new App({ outdir: mkdtempSync(join(home, 'bad-')) }), 'Bad');
      const table = new dynamodb.Table(stack, 'State', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      expect(
        () => new GatewayAuthorizer(stack, 'A', { stateTable: table, platformKey: new secretsmanager.Secret(stack, 'K'), ...props }),
      ).toThrow(message);
    });
  });
});
