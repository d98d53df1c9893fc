import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BlockCluster } from '../../lib/block-cluster';
import { BuildPipeline } from '../../lib/build-pipeline';
import { ConsoleSite } from '../../lib/console-site';
import { ControlApi } from '../../lib/control-api';
import { handlerEntry, KintoFunction } from '../../lib/kinto-function';
import { createKintoApp } from '../../lib/kinto-app';
import { PlatformSecrets } from '../../lib/platform-secrets';
import { StateTable } from '../../lib/state-table';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** Constructs on their own, without bundling or the whole stack: their validation and options. */
describe('Constructs: props validation and options', () => {
  // aws-cdk-lib caches asset fingerprints under HOME/CDK_HOME: keep them out of the real home.
  const saved = { HOME: process.env.HOME, CDK_HOME: process.env.CDK_HOME };
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
    process.env.HOME = process.env.CDK_HOME = home;
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  });
  const stack = () => new Stack(new App({ outdir: mkdtempSync(join(home, 'out-')), context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');

  describe('Construct: ConsoleSite', () => {
    it('creates the bucket and distribution but deploys nothing when the console has not been built', () => {
      const s = stack();
      const site = new ConsoleSite(s, 'Console', { assetsPath: join(home, 'console', 'dist') });
      const template = Template.fromStack(s);
      expect(site.deployed).toBe(false);
      template.resourceCountIs('AWS::S3::Bucket', 1);
      template.resourceCountIs('AWS::CloudFront::Distribution', 1);
      expect(
        Object.values(template.toJSON().Resources).filter((r: any) => String(r.Type).startsWith('Custom::CDKBucketDeployment')),
      ).toEqual([]);
      template.resourceCountIs('AWS::Lambda::Function', 0);
    });
  });

  describe('Construct: StateTable', () => {
    it('can be made deletable, and refuses SNAPSHOT, which DynamoDB does not support', () => {
      const s = stack();
      new StateTable(s, 'Table', { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY });
      Template.fromStack(s).hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Delete',
        Properties: { DeletionProtectionEnabled: false },
      });
      expect(() => new StateTable(stack(), 'Table', { removalPolicy: RemovalPolicy.SNAPSHOT })).toThrow(
        /cannot be snapshotted.*RETAIN or DESTROY/,
      );
    });
  });

  describe('Construct: PlatformSecrets', () => {
    it('refuses keys too short to be secret, saying what it got', () => {
      expect(() => new PlatformSecrets(stack(), 'S', { adminTokenLength: 16 })).toThrow(
        /adminTokenLength must be a whole number from 32 to 4096, got 16/,
      );
      expect(() => new PlatformSecrets(stack(), 'S', { platformKeyLength: 32 })).toThrow(/platformKeyLength .* got 32/);
    });
  });

  describe('Construct: ControlApi', () => {
    it('refuses a throttle that would block every request', () => {
      const s = stack();
      const table = new StateTable(s, 'T');
      const secrets = new PlatformSecrets(s, 'S');
      const builds = new BuildPipeline(s, 'B', { stateTable: table });
      const props = {
        stateTable: table,
        adminToken: secrets.adminToken,
        platformKey: secrets.platformKey,
        buildProject: builds.project,
        buildLogGroup: builds.buildLogs,
        deployer: {
          stateMachine: new sfn.StateMachine(s, 'Deployments', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(s, 'P')) }),
          function: new lambda.Function(s, 'Deployer', {
            runtime: lambda.Runtime.NODEJS_24_X,
            handler: 'i.h',
            code: lambda.Code.fromInline('x'),
          }),
        },
      };
      expect(() => new ControlApi(s, 'Api', { ...props, throttle: { rateLimit: 0, burstLimit: 10 } })).toThrow(
        /rateLimit > 0 .*"rateLimit":0/,
      );
      new ControlApi(s, 'Api2', { ...props, throttle: { rateLimit: 5, burstLimit: 10 } });
      Template.fromStack(s).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      });
    });
  });

  describe('Construct: BuildPipeline', () => {
    it('refuses limits CodeBuild does not accept', () => {
      const s = stack();
      const table = new StateTable(s, 'T');
      expect(() => new BuildPipeline(s, 'B1', { stateTable: table, concurrentBuildLimit: 0 })).toThrow(/concurrentBuildLimit .* got 0/);
      expect(() => new BuildPipeline(s, 'B2', { stateTable: table, buildTimeout: Duration.hours(10) })).toThrow(
        /between 5 and 480 minutes/,
      );
    });
  });

  describe('Construct: BlockCluster', () => {
    it('refuses an impossible number of availability zones', () => {
      expect(() => new BlockCluster(stack(), 'C', { maxAzs: 0 })).toThrow(/maxAzs must be a whole number from 1 to 6, got 0/);
    });
  });

  describe('Construct: KintoFunction', () => {
    it('refuses an entry outside the repository and an impossible memory size', () => {
      expect(() => new KintoFunction(stack(), 'F', { entry: '/etc/passwd', description: 'x' })).toThrow(/outside the repository/);
      expect(() => new KintoFunction(stack(), 'F', { entry: handlerEntry('api'), description: 'x', memorySize: 64 })).toThrow(
        /memorySize .* got 64/,
      );
    });
  });

  describe('Function: createKintoApp', () => {
    it('names the stack from context, and refuses a name CloudFormation would', () => {
      expect(() => createKintoApp({ outdir: mkdtempSync(join(home, 'out-')), stackName: 'my stack' })).toThrow(
        /stack name "my stack" is not valid/,
      );
    });
  });
});
