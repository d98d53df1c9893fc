import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { exampleBlock, exampleDescription, exampleEnvironment, EXAMPLE_PLATFORM, manyBlocks } from '../../bin/examples/environments';
import {
  functionNameOf,
  LIVE_ALIAS,
  stackNameOf,
  stackOutputs,
  stackParameters,
  type EnvironmentBlock,
  type EnvironmentDescription,
} from '../../lambdas/adapters/aws/runtime/environment-description';
import { gatewayAccessLogFormat } from '../../lambdas/core/logs/access-log-format';
import { blockLogGroupName, gatewayLogGroupName } from '../../lambdas/core/logs/log-groups';
import { basicAuthStageVariable, decodeBasicAuthStageValue } from '../../lambdas/adapters/aws/basic-auth-stage-value';
import { ENVIRONMENT_STAGE_VARIABLE } from '../../lambdas/handlers/authorizer';
import {
  dashboardNameOf,
  eventBridgeCron,
  KintoEnvironmentStack,
  MAX_API_INTEGRATIONS,
  MAX_API_ROUTES,
  MAX_STACK_RESOURCES,
  REQUEST_ID_STATUS_CODES,
  STAGE_VARIABLES,
  TOKEN_IDENTITY_SOURCE,
  type KintoEnvironmentStackProps,
} from '../../lib/environment-stack';
import { TOKEN_IDENTITY_SOURCE as PLATFORM_TOKEN_IDENTITY_SOURCE } from '../../lib/gateway-authorizer';
import { synthesizeEnvironment } from '../../lib/synthesize-environment';
import { nagReport } from './support/nag-report';

// Keep aws-cdk-lib's caches and the cloud assemblies out of the real home.
const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
process.env.CDK_HOME = home;
process.env.HOME = home;
afterAll(() => rmSync(home, { recursive: true, force: true }));

const ENV_ID = 'c4f3a9d2e1b04c8f9a7d6e5f4a3b2c1d';
const PASSWORD_HASH = 'scrypt$16384$8$1$_t8k0u6IUn6YkhsNCEJ5cQ$lM9dVFzDYLWMTwHXWYT9Z33PIUSfMTgofS7uSJZiTyg';
type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string }>;

interface Synth {
  readonly app: App;
  readonly stack: KintoEnvironmentStack;
  readonly template: Template;
  readonly resources: Resources;
}

function synth(description: EnvironmentDescription, props: Partial<KintoEnvironmentStackProps> = {}, validate = false): Synth {
  const app = new App({
    outdir: mkdtempSync(join(home, 'out-')),
    builtinCloudFormationValidation: validate,
    // Schema findings of the built-in validation fail synthesis instead of being warnings.
    context: { '@aws-cdk/core:validateAgainstDefaultRules': true },
  });
  const stack = new KintoEnvironmentStack(app, 'Environment', { description, deploymentId: 'dep-1', shape: 'shape-1', ...props });
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Resources };
}

const ofType = (s: Synth, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const countOf = (s: Synth, type: string) => ofType(s, type).length;
/** The resource whose construct path ends with `path` (e.g. `Block-orders/Function`). */
const logicalIdOf = (s: Synth, path: string): string => {
  const found = s.stack.node.findAll().find((c) => c.node.path.endsWith(`/${path}`));
  if (!found) throw new Error(`no construct at ${path}`);
  return s.stack.getLogicalId((found instanceof CfnElement ? found : found.node.defaultChild) as CfnElement);
};
const routeKeys = (s: Synth): unknown[] => ofType(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties!.RouteKey);

const nag = (s: Synth) => nagReport(s.app);

function expectNagClean(s: Synth): void {
  const { findings, stale, acknowledgements } = nag(s);
  expect(findings).toEqual([]);
  expect(stale).toEqual([]);
  for (const { where, id, reason } of acknowledgements) {
    const context = `${where} ${id}`;
    expect({ context, reasonLength: reason.length >= 80 }).toEqual({ context, reasonLength: true });
    expect({ context, placeholder: /\b(TODO|TBD|FIXME|not needed|n\/a)\b/i.test(reason) }).toEqual({ context, placeholder: false });
  }
}

/** One block of each type and visibility the stack runs. */
function everyType(): EnvironmentDescription {
  return exampleEnvironment([
    exampleBlock('orders', 'microservice', { secretNames: ['DATABASE_URL'], variables: { GREETING: 'hi', KINTO_BLOCK: 'orders' } }),
    exampleBlock('site', 'website', { kind: 'dynamic', memoryMb: 256, commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678' }),
    exampleBlock('users', 'microservice', { visibility: 'internal', memoryMb: 1024 }),
    exampleBlock('migrate', 'job', { kind: 'pre-deploy', timeoutSeconds: 600 }),
    exampleBlock('warm', 'job', { kind: 'post-deploy' }),
    exampleBlock('nightly', 'job', { kind: 'cron', schedule: '30 2 * * 1-5', timeoutSeconds: undefined }),
  ]);
}

describe('Class: KintoEnvironmentStack', () => {
  describe('one block of each type', () => {
    let s: Synth;
    beforeAll(() => {
      // The built-in CloudFormation schema validation runs here once (it takes a few seconds).
      s = synth(everyType(), {}, true);
    });

    it('is the stack the deployer names, environment-agnostic', () => {
      expect(s.stack.stackName).toBe(stackNameOf(ENV_ID));
      expect(s.stack.resolve(s.stack.region)).toEqual({ Ref: 'AWS::Region' });
      expect(s.stack.resolve(s.stack.account)).toEqual({ Ref: 'AWS::AccountId' });
      // No bootstrap version parameter or rule: the deployer deploys the template itself.
      expect(Object.keys(s.template.toJSON().Rules ?? {})).toEqual([]);
    });

    it('declares exactly the parameters of the contract: image and version per function, secrets, the internal key', () => {
      const names = Object.keys(s.template.toJSON().Parameters as object).sort();
      const expected = [stackParameters.internalKey, stackParameters.secret('orders', 'DATABASE_URL')];
      for (const b of ['orders', 'site', 'users', 'migrate', 'warm', 'nightly'])
        expected.push(stackParameters.image(b), stackParameters.version(b));
      expect(names).toEqual(expected.sort());
      s.template.hasParameter(stackParameters.version('orders'), { Type: 'String', Default: '$LATEST' });
      s.template.hasParameter(stackParameters.secret('orders', 'DATABASE_URL'), { Type: 'String', NoEcho: true });
      s.template.hasParameter(stackParameters.internalKey, { Type: 'String', NoEcho: true });
      s.template.hasParameter(stackParameters.image('orders'), { Type: 'String', AllowedPattern: Match.stringLikeRegexp('sha256') });
    });

    it('gives the $default stage auto-deploy, the environment id, default throttling and the indexer access-log format', () => {
      // The variable the platform's authorizer reads the environment from.
      expect(STAGE_VARIABLES.envId).toBe(ENVIRONMENT_STAGE_VARIABLE);
      s.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
      s.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        StageVariables: { kintoEnvironmentId: ENV_ID },
        DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [logicalIdOf(s, 'GatewayLogs'), 'Arn'] },
          // Only blocks the gateway serves have their commit in the lines.
          Format: gatewayAccessLogFormat(ENV_ID, {
            release: '1.0.0',
            commits: {
              orders: '0123456789abcdef0123456789abcdef01234567',
              site: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
              users: '0123456789abcdef0123456789abcdef01234567',
            },
          }),
        },
      });
    });

    it('keeps every log group two weeks, deletes it with the stack, and subscribes it to the log indexer', () => {
      const names = [
        gatewayLogGroupName(ENV_ID),
        ...['orders', 'site', 'users', 'migrate', 'warm', 'nightly'].map((b) => blockLogGroupName(ENV_ID, b)),
      ];
      s.template.resourceCountIs('AWS::Logs::LogGroup', names.length);
      s.template.resourceCountIs('AWS::Logs::SubscriptionFilter', names.length);
      for (const name of names) {
        s.template.hasResource('AWS::Logs::LogGroup', {
          Properties: { LogGroupName: name, RetentionInDays: 14 },
          DeletionPolicy: 'Delete',
        });
      }
      for (const [id] of ofType(s, 'AWS::Logs::LogGroup')) {
        s.template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
          LogGroupName: { Ref: id },
          FilterPattern: '',
          DestinationArn: EXAMPLE_PLATFORM.logIndexerFunctionArn,
        });
      }
      // The indexer already allows CloudWatch Logs for /kinto/env/*: the stack adds no permission for it.
      s.template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'logs.amazonaws.com' }, 0);
    });

    it('runs each website, microservice and job as an arm64 container-image function named by the contract', () => {
      s.template.resourceCountIs('AWS::Lambda::Function', 6);
      const timeouts: Record<string, number> = { orders: 30, site: 30, users: 30, migrate: 600, warm: 900, nightly: 900 };
      const memory: Record<string, number> = { orders: 512, site: 256, users: 1024, migrate: 512, warm: 512, nightly: 512 };
      for (const [block, timeout] of Object.entries(timeouts)) {
        s.template.hasResourceProperties('AWS::Lambda::Function', {
          FunctionName: functionNameOf(ENV_ID, block),
          PackageType: 'Image',
          Code: { ImageUri: { Ref: stackParameters.image(block) } },
          Architectures: ['arm64'],
          MemorySize: memory[block],
          Timeout: timeout,
          LoggingConfig: { LogGroup: { Ref: logicalIdOf(s, `Block-${block}/LogGroup`) } },
          Role: { 'Fn::GetAtt': [logicalIdOf(s, `Block-${block}/Role`), 'Arn'] },
        });
      }
    });

    it("sets the block's variables, its secrets as NoEcho parameters, and the gateway URLs only the stack knows", () => {
      const fn = s.resources[logicalIdOf(s, 'Block-orders/Function')].Properties!;
      const vars = fn.Environment.Variables as Record<string, unknown>;
      const api = logicalIdOf(s, 'HttpApi');
      const internalUrl = (block: string) => ({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [api, 'ApiEndpoint'] }, '/_internal/', { Ref: stackParameters.internalKey }, `/${block}`]],
      });
      expect(vars).toEqual({
        GREETING: 'hi',
        KINTO_BLOCK: 'orders',
        DATABASE_URL: { Ref: stackParameters.secret('orders', 'DATABASE_URL') },
        KINTO_GATEWAY_URL: { 'Fn::GetAtt': [api, 'ApiEndpoint'] },
        // Every website and microservice (internal ones included); jobs are not served.
        KINTO_BLOCK_ORDERS_URL: internalUrl('orders'),
        KINTO_BLOCK_SITE_URL: internalUrl('site'),
        KINTO_BLOCK_USERS_URL: internalUrl('users'),
      });
      // No secret value is ever in the template: only its parameter.
      expect(JSON.stringify(s.template.toJSON())).not.toMatch(/postgres:\/\//);
    });

    it('gives each function a role of its own that may only write its log group', () => {
      s.template.resourceCountIs('AWS::IAM::Policy', 0);
      for (const block of ['orders', 'site', 'users', 'migrate', 'warm', 'nightly']) {
        const role = s.resources[logicalIdOf(s, `Block-${block}/Role`)].Properties!;
        expect(role.ManagedPolicyArns).toBeUndefined();
        expect(role.AssumeRolePolicyDocument.Statement).toEqual([
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ]);
        expect(role.Policies).toEqual([
          {
            PolicyName: 'WriteLogGroup',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                  Effect: 'Allow',
                  Resource: { 'Fn::GetAtt': [logicalIdOf(s, `Block-${block}/LogGroup`), 'Arn'] },
                },
              ],
            },
          },
        ]);
      }
    });

    it(`serves every function through a "${LIVE_ALIAS}" alias whose version is a parameter`, () => {
      s.template.resourceCountIs('AWS::Lambda::Alias', 6);
      s.template.resourceCountIs('AWS::Lambda::Version', 0);
      for (const block of ['orders', 'site', 'users', 'migrate', 'warm', 'nightly']) {
        s.template.hasResourceProperties('AWS::Lambda::Alias', {
          Name: LIVE_ALIAS,
          FunctionName: { Ref: logicalIdOf(s, `Block-${block}/Function`) },
          FunctionVersion: { Ref: stackParameters.version(block) },
        });
      }
    });

    it('routes /<block> and /<block>/... by visibility, and every website and microservice through the internal entry', () => {
      const internalRoute = (block: string) => ({
        'Fn::Join': ['', ['ANY /_internal/', { Ref: stackParameters.internalKey }, `/${block}/{proxy+}`]],
      });
      // The bare KINTO_BLOCK_<NAME>_URL reaches the block's `/`.
      const internalRootRoute = (block: string) => ({
        'Fn::Join': ['', ['ANY /_internal/', { Ref: stackParameters.internalKey }, `/${block}`]],
      });
      expect(routeKeys(s)).toEqual(
        expect.arrayContaining([
          'POST /authorize',
          'ANY /orders',
          'ANY /orders/{proxy+}',
          'ANY /site',
          'ANY /site/{proxy+}',
          internalRoute('orders'),
          internalRoute('site'),
          internalRoute('users'),
          internalRootRoute('orders'),
          internalRootRoute('site'),
          internalRootRoute('users'),
        ]),
      );
      // The internal block only through the internal entry; jobs never.
      expect(routeKeys(s)).toHaveLength(11);
      const token = logicalIdOf(s, 'TokenAuthorizer');
      for (const key of ['ANY /orders', 'ANY /orders/{proxy+}']) {
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: key,
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: token },
        });
      }
      for (const key of ['ANY /site', 'ANY /site/{proxy+}', 'POST /authorize']) {
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: key,
          AuthorizationType: 'NONE',
          AuthorizerId: Match.absent(),
        });
      }
      for (const block of ['orders', 'site', 'users']) {
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: internalRoute(block),
          AuthorizationType: 'NONE',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: logicalIdOf(s, `Block-${block}/InternalIntegration`) }]] },
        });
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: internalRootRoute(block),
          AuthorizationType: 'NONE',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: logicalIdOf(s, `Block-${block}/InternalRootIntegration`) }]] },
        });
      }
    });

    it('authorizes protected routes with the platform authorizer: Kinto-Authorization, simple responses, payload 2.0, cached 300 s', () => {
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'REQUEST',
        IdentitySource: ['$request.header.Kinto-Authorization'],
        EnableSimpleResponses: true,
        AuthorizerPayloadFormatVersion: '2.0',
        AuthorizerResultTtlInSeconds: 300,
        AuthorizerUri: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':apigateway:',
              { Ref: 'AWS::Region' },
              `:lambda:path/2015-03-31/functions/${EXAMPLE_PLATFORM.authorizerFunctionArn}/invocations`,
            ],
          ],
        },
      });
      // The header the platform's authorizer construct names (a copy, kept out of the deployer's bundle).
      expect(TOKEN_IDENTITY_SOURCE).toBe(PLATFORM_TOKEN_IDENTITY_SOURCE);
      // The platform's authorizer lets any HTTP API of the account invoke it: no permission here.
      s.template.resourcePropertiesCountIs('AWS::Lambda::Permission', { FunctionName: EXAMPLE_PLATFORM.authorizerFunctionArn }, 0);
    });

    it('sets kinto-request-id on every request and answer, kinto-client-id from the authorizer (or drops it), and never passes the token on', () => {
      const requestIdOnAnswers = Object.fromEntries(
        REQUEST_ID_STATUS_CODES.map((code) => [
          String(code),
          { ResponseParameters: [{ Destination: 'overwrite:header.kinto-request-id', Source: '$context.requestId' }] },
        ]),
      );
      const integration = (path: string) => s.resources[logicalIdOf(s, path)].Properties!;
      const alias = (block: string) => ({ Ref: logicalIdOf(s, `Block-${block}/LiveAlias`) });
      expect(integration('Block-orders/ProxyIntegration')).toEqual({
        ApiId: { Ref: logicalIdOf(s, 'HttpApi') },
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: alias('orders'),
        PayloadFormatVersion: '2.0',
        TimeoutInMillis: 30_000,
        RequestParameters: {
          'overwrite:header.kinto-request-id': '$context.requestId',
          'overwrite:header.kinto-client-id': '$context.authorizer.clientId',
          'remove:header.kinto-authorization': '',
          'overwrite:path': '/$request.path.proxy',
        },
        ResponseParameters: requestIdOnAnswers,
      });
      expect(integration('Block-orders/RootIntegration').RequestParameters['overwrite:path']).toBe('/');
      expect(integration('Block-site/ProxyIntegration').RequestParameters).toEqual({
        'overwrite:header.kinto-request-id': '$context.requestId',
        'remove:header.kinto-client-id': '',
        'remove:header.kinto-authorization': '',
        'overwrite:path': '/$request.path.proxy',
      });
      // The internal entry: no authorizer, so no client; the key never reaches the block.
      expect(integration('Block-orders/InternalIntegration').RequestParameters).toEqual({
        'overwrite:header.kinto-request-id': '$context.requestId',
        'remove:header.kinto-client-id': '',
        'remove:header.kinto-authorization': '',
        'overwrite:path': '/$request.path.proxy',
      });
      expect(integration('Block-orders/InternalRootIntegration').RequestParameters).toEqual({
        'overwrite:header.kinto-request-id': '$context.requestId',
        'remove:header.kinto-client-id': '',
        'remove:header.kinto-authorization': '',
        'overwrite:path': '/',
      });
      expect(integration('Block-users/InternalIntegration').IntegrationUri).toEqual(alias('users'));
      expect(integration('Block-users/InternalRootIntegration').IntegrationUri).toEqual(alias('users'));
      for (const [, r] of ofType(s, 'AWS::ApiGatewayV2::Integration')) expect(r.Properties!.ResponseParameters).toEqual(requestIdOnAnswers);
    });

    it('lets this API, and only it, invoke each served alias and the platform gateway function', () => {
      const thisApi = {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':execute-api:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: logicalIdOf(s, 'HttpApi') },
            '/*',
          ],
        ],
      };
      // Only the blocks' aliases: the gateway function's permission is the platform's (GatewayFunction), for every API.
      s.template.resourceCountIs('AWS::Lambda::Permission', 3);
      for (const block of ['orders', 'site', 'users']) {
        s.template.hasResourceProperties('AWS::Lambda::Permission', {
          Action: 'lambda:InvokeFunction',
          FunctionName: { Ref: logicalIdOf(s, `Block-${block}/LiveAlias`) },
          Principal: 'apigateway.amazonaws.com',
          SourceArn: thisApi,
        });
      }
      s.template.resourcePropertiesCountIs('AWS::Lambda::Permission', { FunctionName: EXAMPLE_PLATFORM.gatewayFunctionArn }, 0);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationUri: EXAMPLE_PLATFORM.gatewayFunctionArn,
        PayloadFormatVersion: '2.0',
      });
    });

    it('arms the cron job with EventBridge Scheduler: UTC, no flexible window, the deployer as target with the run to record', () => {
      s.template.resourceCountIs('AWS::Scheduler::Schedule', 1);
      s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        Name: functionNameOf(ENV_ID, 'nightly'),
        ScheduleExpression: 'cron(30 2 ? * 2-6 *)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: EXAMPLE_PLATFORM.deployerFunctionArn,
          RoleArn: { 'Fn::GetAtt': [logicalIdOf(s, 'ScheduleRole'), 'Arn'] },
          Input: JSON.stringify({ kind: 'cron', envId: ENV_ID, job: 'nightly' }),
        },
      });
      const role = s.resources[logicalIdOf(s, 'ScheduleRole')].Properties!;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
      expect(role.Policies[0].PolicyDocument.Statement).toEqual([
        { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: EXAMPLE_PLATFORM.deployerFunctionArn },
      ]);
    });

    it('graphs requests, errors, duration percentiles and cold starts of each website and microservice on one dashboard', () => {
      s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      const dashboard = s.resources[logicalIdOf(s, 'Dashboard')].Properties!;
      expect(dashboard.DashboardName).toBe(dashboardNameOf({ project: 'shop', environment: 'dev', envId: ENV_ID }));
      expect(dashboard.DashboardName).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
      const body = JSON.parse(
        (dashboard.DashboardBody['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''),
      ) as { widgets: { properties: { metrics?: unknown[][] } }[] };
      const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []);
      const graphed = (block: string) =>
        metrics
          .filter((m) => m.includes(block))
          .map((m) => {
            const options = m[m.length - 1] as { stat: string };
            return `${m[0] === '.' ? '' : String(m[1])}:${options.stat}`;
          });
      for (const block of ['orders', 'site', 'users']) {
        expect(metrics.filter((m) => m.includes(block)).every((m) => m[0] === 'Kinto' && m.includes('EnvId') && m.includes(ENV_ID))).toBe(
          true,
        );
        expect(graphed(block).sort()).toEqual(
          ['Requests:Sum', 'Errors4xx:Sum', 'Errors5xx:Sum', 'Duration:p50', 'Duration:p95', 'Duration:p99', 'ColdStarts:Sum'].sort(),
        );
      }
      for (const job of ['migrate', 'warm', 'nightly']) expect(metrics.some((m) => m.includes(job))).toBe(false);
    });

    it('outputs the gateway URL, the shape and the deployment for the deployer', () => {
      s.template.hasOutput(stackOutputs.gatewayUrl, { Value: { 'Fn::GetAtt': [logicalIdOf(s, 'HttpApi'), 'ApiEndpoint'] } });
      s.template.hasOutput(stackOutputs.shape, { Value: 'shape-1' });
      s.template.hasOutput(stackOutputs.deployment, { Value: 'dep-1' });
    });

    it('keeps its construct IDs (logical IDs are a contract with deployed stacks)', () => {
      expect(
        [
          'HttpApi',
          'DefaultStage',
          'GatewayLogs',
          'TokenAuthorizer',
          'Dashboard',
          'ScheduleRole',
          'Block-orders/Function',
          'Block-orders/LiveAlias',
          'Block-orders/ProxyRoute',
        ].map((p) => logicalIdOf(s, p)),
      ).toEqual([
        'HttpApiF5A9A8A7',
        'DefaultStageEE28A986',
        'GatewayLogs64F6314F',
        'TokenAuthorizer',
        'Dashboard9E4231ED',
        'ScheduleRole756A1A25',
        'BlockordersFunction3003D32D',
        'BlockordersLiveAliasC1B9546E',
        'BlockordersProxyRouteDECA7D78',
      ]);
    });

    it('is clean under cdk-nag AwsSolutions, each acknowledgement on the route it concerns with its reason', () => {
      expectNagClean(s);
      expect(
        nag(s)
          .acknowledgements.map((a) => `${a.where} ${a.id}`)
          .sort(),
      ).toEqual(
        [
          'Environment/AuthorizeRoute AwsSolutions-APIG4',
          'Environment/Block-site/RootRoute AwsSolutions-APIG4',
          'Environment/Block-site/ProxyRoute AwsSolutions-APIG4',
          'Environment/Block-orders/InternalRoute AwsSolutions-APIG4',
          'Environment/Block-site/InternalRoute AwsSolutions-APIG4',
          'Environment/Block-users/InternalRoute AwsSolutions-APIG4',
          'Environment/Block-orders/InternalRootRoute AwsSolutions-APIG4',
          'Environment/Block-site/InternalRootRoute AwsSolutions-APIG4',
          'Environment/Block-users/InternalRootRoute AwsSolutions-APIG4',
        ].sort(),
      );
    });
  });

  describe('visibility', () => {
    it.each([
      ['protected', ['ANY /svc', 'ANY /svc/{proxy+}'], 'CUSTOM', 'overwrite:header.kinto-client-id'],
      ['public', ['ANY /svc', 'ANY /svc/{proxy+}'], 'NONE', 'remove:header.kinto-client-id'],
      ['internal', [], undefined, undefined],
    ] as const)('a %s microservice is routed %j from outside', (visibility, routes, authorization, clientHeader) => {
      const s = synth(exampleEnvironment([exampleBlock('svc', 'microservice', { visibility })]));
      const outside = routeKeys(s).filter((k): k is string => typeof k === 'string' && k !== 'POST /authorize');
      expect(outside.sort()).toEqual([...routes].sort());
      // Always reachable through the internal entry (bare, and with a path).
      expect(routeKeys(s).filter((k) => typeof k === 'object')).toHaveLength(2);
      for (const key of routes)
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: authorization });
      if (clientHeader) {
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
          RequestParameters: Match.objectLike({ [clientHeader]: Match.anyValue() }),
        });
      }
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', visibility === 'protected' ? 1 : 0);
      expectNagClean(s);
    });
  });

  describe('password-protected websites', () => {
    const site = (visibility: EnvironmentBlock['visibility']) =>
      exampleBlock('preview-site', 'website', { visibility, basicAuth: { username: 'preview', passwordHash: PASSWORD_HASH } });

    it('checks the password with an uncached authorizer on Authorization, and gives it the hash in a stage variable API Gateway accepts', () => {
      const s = synth(exampleEnvironment([site('public')]));
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        Name: 'BasicAuthorizer',
        IdentitySource: ['$request.header.Authorization'],
        AuthorizerResultTtlInSeconds: 0,
        EnableSimpleResponses: true,
        AuthorizerPayloadFormatVersion: '2.0',
      });
      const basic = logicalIdOf(s, 'BasicAuthorizer');
      for (const key of ['ANY /preview-site', 'ANY /preview-site/{proxy+}']) {
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: key,
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: basic },
        });
      }
      const vars = ofType(s, 'AWS::ApiGatewayV2::Stage')[0][1].Properties!.StageVariables as Record<string, string>;
      const name = basicAuthStageVariable('preview-site');
      expect(name).toBe('kintoBasicAuth_preview_site');
      expect(decodeBasicAuthStageValue(vars[name])).toEqual({ username: 'preview', passwordHash: PASSWORD_HASH, visibility: 'public' });
      // API Gateway's rules for stage variables: names [A-Za-z0-9_] up to 64, values [A-Za-z0-9-._~:/?#&=,]+ up to 512.
      for (const [k, v] of Object.entries(vars)) {
        expect(k).toMatch(/^[A-Za-z0-9_]{1,64}$/);
        expect(v).toMatch(/^[A-Za-z0-9\-._~:/?#&=,]{1,512}$/);
      }
      // The public website's client header is dropped; the password never reaches the template.
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        RequestParameters: Match.objectLike({ 'remove:header.kinto-client-id': '' }),
      });
      expect(JSON.stringify(s.template.toJSON())).not.toContain('long enough password');
      expectNagClean(s);
    });

    it('asks for the token and the password on a protected website, without caching', () => {
      const s = synth(exampleEnvironment([site('protected')]));
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        Name: 'TokenAndBasicAuthorizer',
        IdentitySource: ['$request.header.Kinto-Authorization', '$request.header.Authorization'],
        AuthorizerResultTtlInSeconds: 0,
      });
      const vars = ofType(s, 'AWS::ApiGatewayV2::Stage')[0][1].Properties!.StageVariables as Record<string, string>;
      expect(decodeBasicAuthStageValue(vars.kintoBasicAuth_preview_site)?.visibility).toBe('protected');
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        RequestParameters: Match.objectLike({ 'overwrite:header.kinto-client-id': '$context.authorizer.clientId' }),
      });
      expectNagClean(s);
    });

    it('has no password variable for an internal website (only its own environment reaches it)', () => {
      const s = synth(exampleEnvironment([site('internal')]));
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
      expect(Object.keys(ofType(s, 'AWS::ApiGatewayV2::Stage')[0][1].Properties!.StageVariables as object)).toEqual(['kintoEnvironmentId']);
    });

    it('shares one basic-auth authorizer between websites', () => {
      const s = synth(
        exampleEnvironment([
          site('public'),
          exampleBlock('docs', 'website', { basicAuth: { username: 'team', passwordHash: PASSWORD_HASH } }),
          exampleBlock('api', 'microservice'),
        ]),
      );
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 2);
      const vars = ofType(s, 'AWS::ApiGatewayV2::Stage')[0][1].Properties!.StageVariables as Record<string, string>;
      expect(Object.keys(vars).sort()).toEqual(['kintoBasicAuth_docs', 'kintoBasicAuth_preview_site', 'kintoEnvironmentId']);
    });
  });

  describe('a shut-down environment', () => {
    let s: Synth;
    beforeAll(() => {
      s = synth({ ...everyType(), shutDown: true });
    });

    it('runs no block and arms no schedule', () => {
      for (const type of [
        'AWS::Lambda::Function',
        'AWS::Lambda::Alias',
        'AWS::Scheduler::Schedule',
        'AWS::ApiGatewayV2::Authorizer',
        'AWS::IAM::Role',
      ]) {
        s.template.resourceCountIs(type, 0);
      }
      // The deployer passes the internal key on every update; no image, version or secret parameter.
      expect(Object.keys(s.template.toJSON().Parameters as object)).toEqual([stackParameters.internalKey]);
    });

    it('sends every request but POST /authorize to the platform gateway function (503)', () => {
      expect(routeKeys(s).sort()).toEqual(['$default', 'POST /authorize']);
      const gateway = logicalIdOf(s, 'GatewayIntegration');
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: '$default',
        AuthorizationType: 'NONE',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: gateway }]] },
      });
      s.template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
      s.template.resourceCountIs('AWS::Lambda::Permission', 0);
    });

    it('keeps its log groups, their subscriptions and the dashboard (history stays), under the same logical IDs', () => {
      const running = synth(everyType());
      const groups = (x: Synth) =>
        ofType(x, 'AWS::Logs::LogGroup')
          .map(([id, r]) => `${id} ${r.Properties!.LogGroupName}`)
          .sort();
      expect(groups(s)).toEqual(groups(running));
      s.template.resourceCountIs('AWS::Logs::LogGroup', 7);
      s.template.resourceCountIs('AWS::Logs::SubscriptionFilter', 7);
      s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageVariables: { kintoEnvironmentId: ENV_ID } });
    });

    it('is clean under cdk-nag AwsSolutions', () => expectNagClean(s));
  });

  describe('50 blocks', () => {
    /** Resources of one block of each kind: an environment with it minus the same environment without. */
    const perBlock = (block: EnvironmentBlock): number => {
      const base = [exampleBlock('base', 'microservice'), exampleBlock('tick', 'job', { kind: 'cron', schedule: '0 * * * *' })];
      return countAll(synth(exampleEnvironment([...base, block]))) - countAll(synth(exampleEnvironment(base)));
    };
    const countAll = (s: Synth) => Object.keys(s.resources).length;

    it('counts the resources each kind of block adds', () => {
      expect({
        protectedMicroservice: perBlock(exampleBlock('b', 'microservice')),
        publicWebsite: perBlock(exampleBlock('b', 'website')),
        internalMicroservice: perBlock(exampleBlock('b', 'microservice', { visibility: 'internal' })),
        job: perBlock(exampleBlock('b', 'job', { kind: 'post-deploy' })),
        cronJob: perBlock(exampleBlock('b', 'job', { kind: 'cron', schedule: '0 3 * * *' })),
      }).toEqual({
        // Log group + subscription, role (inline policy), function, alias, permission, 4 integrations, 4 routes.
        protectedMicroservice: 14,
        publicWebsite: 14,
        // The internal entry only: 2 integrations, 2 routes.
        internalMicroservice: 10,
        // Log group + subscription, role, function, alias.
        job: 5,
        cronJob: 6,
      });
    });

    it('fits 50 blocks of every type in one stack and one HTTP API', () => {
      const s = synth(exampleEnvironment(manyBlocks(50)));
      const total = Object.keys(s.resources).length;
      // 5 x (2 protected + public website + public + internal microservice + 2 jobs + 3 cron jobs) + the stack's own 9.
      expect(total).toBe(5 * (14 + 14 + 14 + 10 + 14 + 5 + 5 + 6 + 6 + 6) + 9);
      expect(total).toBeLessThanOrEqual(MAX_STACK_RESOURCES);
      expect(countOf(s, 'AWS::ApiGatewayV2::Route')).toBe(5 * (4 + 4 + 4 + 2 + 4) + 1);
      expect(countOf(s, 'AWS::ApiGatewayV2::Route')).toBeLessThanOrEqual(MAX_API_ROUTES);
      expect(countOf(s, 'AWS::ApiGatewayV2::Integration')).toBeLessThanOrEqual(MAX_API_INTEGRATIONS);
      s.template.resourceCountIs('AWS::Lambda::Function', 50);
      s.template.resourceCountIs('AWS::Scheduler::Schedule', 15);
      s.template.resourceCountIs('AWS::IAM::Role', 51);
      s.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      expectNagClean(s);
    });

    it("refuses an environment over CloudFormation's 500 resources, saying how many and what to do", () => {
      // 25 public websites and 35 cron jobs: 25 x 14 + 35 x 6 + the stack's 8 (no token authorizer) = 568.
      const blocks = [
        ...Array.from({ length: 25 }, (_, i) => exampleBlock(`s${i}`, 'website', { variables: {} })),
        ...Array.from({ length: 35 }, (_, i) => exampleBlock(`j${i}`, 'job', { kind: 'cron', schedule: '0 3 * * *', variables: {} })),
      ];
      expect(() => synth(exampleEnvironment(blocks))).toThrow(
        /needs 568 CloudFormation resources, but one stack holds at most 500.*Split its blocks/,
      );
    });

    it("refuses an environment over CloudFormation's 200 template parameters", () => {
      // 60 jobs with two secrets each: 1 + 60 x (image + version + 2 secrets) = 241 parameters.
      const blocks = Array.from({ length: 60 }, (_, i) => exampleBlock(`j${i}`, 'job', { secretNames: ['A', 'B'] }));
      expect(() => synth(exampleEnvironment(blocks))).toThrow(
        /needs 241 template parameters .* CloudFormation allows 200\. Use fewer secret variables/,
      );
    });

    it("refuses functions whose variables would exceed Lambda's 4 KB, naming the block", () => {
      expect(() => synth(exampleEnvironment(manyBlocks(60)))).toThrow(
        /block "api-01": its environment variables take up to \d+ bytes .* over Lambda's 4096/,
      );
    });
  });

  describe('validation', () => {
    const attempt =
      (blocks: EnvironmentBlock[], extra: Partial<EnvironmentDescription> = {}) =>
      () =>
        synth(exampleEnvironment(blocks, extra));

    it.each([
      [
        "a custom service on a platform without custom services' parts",
        [exampleBlock('db', 'custom-service')],
        /has a custom service, which runs on Fargate .* platform\.services is missing.*Update the platform \(npx cdk deploy\)/,
      ],
      ['a reserved block name', [exampleBlock('authorize', 'microservice')], /reserved for the gateway/],
      ['an invalid block name', [exampleBlock('Orders', 'microservice')], /lower-case letters/],
      ['a block twice', [exampleBlock('a', 'microservice'), exampleBlock('a', 'website')], /appears twice/],
      [
        "memory outside Lambda's range",
        [exampleBlock('a', 'microservice', { memoryMb: 64 })],
        /memoryMb must be a whole number from 128 to 10240 \(Lambda's range\), got 64/,
      ],
      [
        'a job timeout over 900 s',
        [exampleBlock('a', 'job', { timeoutSeconds: 901 })],
        /timeoutSeconds must be a whole number from 1 to 900.*got 901/,
      ],
      ['a cron job without schedule', [exampleBlock('a', 'job', { kind: 'cron' })], /cron job without a schedule/],
      ['a schedule on a pre-deploy job', [exampleBlock('a', 'job', { kind: 'pre-deploy', schedule: '0 3 * * *' })], /not a cron job/],
      [
        'both cron day fields',
        [exampleBlock('a', 'job', { kind: 'cron', schedule: '0 3 1 * 1' })],
        /restricts both the day of month and the day of week/,
      ],
      [
        'a password on a microservice',
        [exampleBlock('a', 'microservice', { basicAuth: { username: 'u', passwordHash: PASSWORD_HASH } })],
        /only websites/,
      ],
      [
        'a clear-text password',
        [exampleBlock('a', 'website', { basicAuth: { username: 'u', passwordHash: 'hunter2' } })],
        /must be a scrypt hash/,
      ],
      [
        'a variable Lambda reserves',
        [exampleBlock('a', 'microservice', { variables: { AWS_REGION: 'x' } })],
        /AWS_REGION is reserved by Lambda/,
      ],
      [
        'a variable that would route the Web Adapter around the request guard',
        [exampleBlock('a', 'website', { variables: { AWS_LWA_PORT: '8080' } })],
        /AWS_LWA_PORT is set by the platform \(the Web Adapter and Kinto's request guard\)/,
      ],
      [
        'a PORT variable (the guard and the block would share a port)',
        [exampleBlock('a', 'microservice', { variables: { PORT: '7071' } })],
        /PORT is set by the platform/,
      ],
      [
        'a variable both plain and secret',
        [exampleBlock('a', 'microservice', { variables: { TOKEN: 'x' }, secretNames: ['TOKEN'] })],
        /TOKEN is both plain and secret/,
      ],
      [
        'an invalid variable name',
        [exampleBlock('a', 'microservice', { variables: { 'MY-VAR': 'x' } })],
        /"MY-VAR" must be letters, digits and underscores/,
      ],
    ] as const)('refuses %s, saying what to do', (_what, blocks, message) => {
      expect(attempt([...blocks])).toThrow(message);
    });

    it('refuses a platform reference that is not an ARN, and a bad throttle', () => {
      expect(attempt([], { platform: { ...EXAMPLE_PLATFORM, deployerFunctionArn: 'deployer' } })).toThrow(
        /platform.deployerFunctionArn must be an ARN/,
      );
      expect(attempt([], { throttle: { rate: 0, burst: 10 } })).toThrow(/throttle needs rate > 0/);
      expect(attempt([], { envId: 'has_underscore' })).toThrow(/envId must be 1 to 64 letters, digits or hyphens/);
    });
  });

  describe('options', () => {
    it('throttles as the description says, keeps logs as long as asked, and bounds every role with the permissions boundary', () => {
      const boundary = 'arn:aws:iam::123456789012:policy/kinto-boundary';
      const s = synth(
        exampleEnvironment([exampleBlock('api', 'microservice'), exampleBlock('tick', 'job', { kind: 'cron', schedule: '*/5 * * * *' })], {
          throttle: { rate: 10, burst: 20 },
          platform: { ...EXAMPLE_PLATFORM, permissionsBoundaryArn: boundary },
        }),
        { logRetention: 30 },
      );
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      });
      for (const [, g] of ofType(s, 'AWS::Logs::LogGroup')) expect(g.Properties!.RetentionInDays).toBe(30);
      const roles = ofType(s, 'AWS::IAM::Role');
      expect(roles).toHaveLength(3);
      for (const [, r] of roles) expect(r.Properties!.PermissionsBoundary).toBe(boundary);
      s.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0/5 * * * ? *)' });
    });

    it('leaves the release out of access lines when there is none yet', () => {
      const s = synth(exampleEnvironment([exampleBlock('api', 'microservice')], { release: undefined }));
      s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { AccessLogSettings: { Format: gatewayAccessLogFormat(ENV_ID) } });
    });
  });
});

describe('Function: eventBridgeCron', () => {
  it.each([
    ['0 3 * * *', 'cron(0 3 * * ? *)'],
    ['*/5 * * * *', 'cron(0/5 * * * ? *)'],
    ['* * * * *', 'cron(* * * * ? *)'],
    ['5-59/10 * * * *', 'cron(5/10 * * * ? *)'],
    ['0,30 8-18 * * *', 'cron(0,30 8-18 * * ? *)'],
    ['0 9 * * 1-5', 'cron(0 9 ? * 2-6 *)'],
    ['0 0 * * 0', 'cron(0 0 ? * 1 *)'],
    ['0 0 * * 7', 'cron(0 0 ? * 1 *)'],
    ['0 0 * * SUN', 'cron(0 0 ? * 1 *)'],
    ['0 0 * * sat,sun', 'cron(0 0 ? * 1,7 *)'],
    ['0 0 * * 5-7', 'cron(0 0 ? * 1,6-7 *)'],
    ['0 0 * * */2', 'cron(0 0 ? * 1,3,5,7 *)'],
    ['0 12 1 * *', 'cron(0 12 1 * ? *)'],
    ['0 12 1,15 * *', 'cron(0 12 1,15 * ? *)'],
    ['0 0 */2 * *', 'cron(0 0 1/2 * ? *)'],
    ['0 0 L * *', 'cron(0 0 L * ? *)'],
    ['0 0 * * 5L', 'cron(0 0 ? * 6L *)'],
    ['0 0 * * 1#2', 'cron(0 0 ? * 2#2 *)'],
    ['0 0 1 JAN *', 'cron(0 0 1 1 ? *)'],
    ['15 4 * 3-5,9 *', 'cron(15 4 * 3-5,9 ? *)'],
    ['0 0 * 1/3 *', 'cron(0 0 * 1/3 ? *)'],
    ['0 0 ? * MON', 'cron(0 0 ? * 2 *)'],
    ['  0   3 * *  * ', 'cron(0 3 * * ? *)'],
  ])('converts %j to %s', (unix, expected) => {
    expect(eventBridgeCron(unix)).toBe(expected);
  });

  it.each([
    ['0 3 1 * 1', /restricts both the day of month and the day of week.*Restrict only one/],
    ['0 3 1-15 * MON-FRI', /restricts both/],
    ['0 3 * *', /not a 5-field cron expression/],
    ['0 3 * * * *', /not a 5-field cron expression/],
    ['60 3 * * *', /minute "60": 60 is outside 0-59/],
    ['0 24 * * *', /hour "24": 24 is outside 0-23/],
    ['0 0 0 * *', /day of month "0": 0 is outside 1-31/],
    ['0 0 * 13 *', /month "13": 13 is outside 1-12/],
    ['0 0 * * 8', /day of week "8": 8 is outside 0-7/],
    ['0 0 15W * *', /not supported on AWS/],
    ['0 0 * * 5-1', /runs backwards/],
    ['@daily', /not a 5-field cron expression/],
  ])('refuses %j, saying why', (unix, message) => {
    expect(() => eventBridgeCron(unix)).toThrow(message);
  });
});

describe('Function: synthesizeEnvironment', () => {
  it('returns the template and its parameters, and leaves nothing behind in the temp dir', () => {
    const before = new Set(readdirSync(tmpdir()));
    const { template, parameters } = synthesizeEnvironment(exampleDescription(), { deploymentId: 'dep-9', shape: 'abc' });
    const after = readdirSync(tmpdir()).filter((f) => f.startsWith('kinto-env-synth-') && !before.has(f));
    expect(after).toEqual([]);
    expect(parameters).toEqual(
      expect.arrayContaining([
        stackParameters.internalKey,
        stackParameters.image('orders'),
        stackParameters.secret('orders', 'DATABASE_URL'),
      ]),
    );
    expect(parameters).toEqual(Object.keys(template.Parameters as object));
    const outputs = template.Outputs as Record<string, { Value: unknown }>;
    expect(outputs[stackOutputs.deployment].Value).toBe('dep-9');
    expect(outputs[stackOutputs.shape].Value).toBe('abc');
    // No CDK metadata resource (version reporting off) and no bootstrap parameter.
    const types = Object.values(template.Resources as Resources).map((r) => r.Type);
    expect(types).not.toContain('AWS::CDK::Metadata');
    expect(parameters).not.toContain('BootstrapVersion');
  });

  it('runs the checks it is given before synthesis', () => {
    const seen: string[] = [];
    synthesizeEnvironment(exampleDescription(), {
      deploymentId: 'd',
      shape: 's',
      beforeSynth: (app, stack) => {
        Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
        seen.push(stack.stackName);
      },
    });
    expect(seen).toEqual([stackNameOf(exampleDescription().envId)]);
  });
});
