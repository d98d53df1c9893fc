import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { exampleBlock, exampleEnvironment, EXAMPLE_PLATFORM } from '../../bin/examples/environments';
import { fargateSize } from '../../lambdas/adapters/aws/services/fargate-size';
import { posixIdOf, serviceHostOf, WAKER_FILTER_PATTERN } from '../../lambdas/adapters/aws/services/service-names';
import type { ServicePlatformRefs } from '../../lambdas/adapters/aws/services/service-refs';
import { describeEnvironment, desiredFunction, shapeOf, type GatewayFacts } from '../../lambdas/adapters/aws/runtime/environment-plan';
import {
  stackParameters,
  type EnvironmentBlock,
  type EnvironmentDescription,
  type PlatformRefs,
} from '../../lambdas/adapters/aws/runtime/environment-description';
import type { DeploymentPlan } from '../../lambdas/ports/runtime';
import { readDeployerConfig } from '../../lambdas/handlers/deployer/index';
import { KintoEnvironmentStack, RESOURCES_PER_CUSTOM_SERVICE } from '../../lib/environment-stack';
import { nagReport } from './support/nag-report';

// Keep aws-cdk-lib's caches and the cloud assemblies out of the real home.
const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
process.env.CDK_HOME = home;
process.env.HOME = home;
afterAll(() => rmSync(home, { recursive: true, force: true }));

const ENV_ID = 'c4f3a9d2e1b04c8f9a7d6e5f4a3b2c1d';
const ENV12 = ENV_ID.slice(0, 12);
const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/kinto-blocks@sha256:${'a'.repeat(64)}`;

/** The platform's parts as BlockCluster and ServiceWaker would name them (ids in AWS's formats). */
const SERVICES: ServicePlatformRefs = {
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/Kinto-BlocksCluster71D8C8CF-AbCdEfGh',
  clusterName: 'Kinto-BlocksCluster71D8C8CF-AbCdEfGh',
  vpcId: 'vpc-0123456789abcdef0',
  taskSubnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
  functionSubnetIds: ['subnet-0a1b2c3d4e5f60003', 'subnet-0a1b2c3d4e5f60004'],
  tasksSecurityGroupId: 'sg-0a1b2c3d4e5f60005',
  fileSystemId: 'fs-0a1b2c3d4e5f60006',
  fileSystemArn: 'arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0a1b2c3d4e5f60006',
  namespaceId: 'ns-abcdefghijklmnop',
  namespaceArn: 'arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-abcdefghijklmnop',
  wakerFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-ServiceWakerFunction076FFC0E-AbCdEfGhIjKl',
};
const PLATFORM: PlatformRefs = { ...EXAMPLE_PLATFORM, services: SERVICES };

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string[] }>;
interface Synth {
  readonly app: App;
  readonly stack: KintoEnvironmentStack;
  readonly template: Template;
  readonly resources: Resources;
}

function synth(description: EnvironmentDescription, validate = false): Synth {
  const app = new App({
    outdir: mkdtempSync(join(home, 'out-')),
    builtinCloudFormationValidation: validate,
    context: { '@aws-cdk/core:validateAgainstDefaultRules': true },
  });
  const stack = new KintoEnvironmentStack(app, 'Environment', { description, deploymentId: 'dep-1', shape: 'shape-1' });
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Resources };
}

const service = (name: string, extra: Partial<EnvironmentBlock> = {}) =>
  exampleBlock(name, 'custom-service', { visibility: 'internal', image: IMAGE, ...extra });

/** A website, a microservice, a cron job, a Redis-like service and an always-on one with a secret. */
function withServices(extra: Partial<EnvironmentDescription> = {}): EnvironmentDescription {
  return exampleEnvironment(
    [
      exampleBlock('api', 'microservice'),
      exampleBlock('site', 'website', { kind: 'dynamic' }),
      exampleBlock('nightly', 'job', { kind: 'cron', schedule: '0 3 * * *' }),
      service('db', { port: 6379, idleSeconds: 600, variables: { KINTO_BLOCK: 'db', MAXMEMORY: '100mb' } }),
      service('cache', { alwaysOn: true, memoryMb: 1536, secretNames: ['PASSWORD'] }),
    ],
    { platform: PLATFORM, ...extra },
  );
}

const ofType = (s: Synth, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const logicalIdOf = (s: Synth, path: string): string => {
  const found = s.stack.node.findAll().find((c) => c.node.path.endsWith(`/${path}`));
  if (!found) throw new Error(`no construct at ${path}`);
  return s.stack.getLogicalId((found instanceof CfnElement ? found : found.node.defaultChild) as CfnElement);
};
const props = (s: Synth, path: string) => s.resources[logicalIdOf(s, path)].Properties!;
const groupId = (s: Synth, path: string) => ({ 'Fn::GetAtt': [logicalIdOf(s, path), 'GroupId'] });
const envOf = (containerEnvironment: { Name: string; Value: unknown }[]) =>
  Object.fromEntries(containerEnvironment.map((e) => [e.Name, e.Value]));

const nag = (s: Synth) => nagReport(s.app);

describe('Class: KintoEnvironmentStack, custom services (issue 21)', () => {
  describe('an environment with two custom services', () => {
    let s: Synth;
    beforeAll(() => {
      // The built-in CloudFormation schema validation too: a property AWS would refuse fails here.
      s = synth(withServices(), true);
    });

    it('runs each as an arm64 Fargate service in the platform cluster, asleep (desired count 0) unless always on', () => {
      s.template.resourceCountIs('AWS::ECS::Service', 2);
      s.template.resourceCountIs('AWS::ECS::TaskDefinition', 2);
      expect(props(s, 'Block-db/Service')).toMatchObject({
        ServiceName: `kinto-${ENV12}-db`,
        Cluster: SERVICES.clusterArn,
        LaunchType: 'FARGATE',
        DesiredCount: 0,
        TaskDefinition: { Ref: logicalIdOf(s, 'Block-db/TaskDefinition') },
        // One task at a time on the data: the old one stops before a new one starts.
        DeploymentConfiguration: {
          MinimumHealthyPercent: 0,
          MaximumPercent: 100,
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        },
      });
      expect(props(s, 'Block-cache/Service').DesiredCount).toBe(1);
      for (const name of ['db', 'cache']) {
        expect(props(s, `Block-${name}/TaskDefinition`)).toMatchObject({
          Family: `kinto-${ENV12}-${name}`,
          RequiresCompatibilities: ['FARGATE'],
          NetworkMode: 'awsvpc',
          RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        });
      }
    });

    it('sizes each task from its memory setting, rounded up to a size Fargate sells', () => {
      expect(props(s, 'Block-db/TaskDefinition')).toMatchObject({ Cpu: '256', Memory: '512' });
      // 1536 MiB: 256 CPU units sell 512, 1024 or 2048 MiB.
      expect(props(s, 'Block-cache/TaskDefinition')).toMatchObject({ Cpu: '256', Memory: '2048' });
      expect([128, 512, 1024, 1536, 2048, 2049, 3000, 4096, 4097, 8192, 10_240].map((m) => fargateSize(m))).toEqual([
        { cpu: 256, memoryMb: 512 },
        { cpu: 256, memoryMb: 512 },
        { cpu: 256, memoryMb: 1024 },
        { cpu: 256, memoryMb: 2048 },
        { cpu: 256, memoryMb: 2048 },
        { cpu: 512, memoryMb: 3072 },
        { cpu: 512, memoryMb: 3072 },
        { cpu: 512, memoryMb: 4096 },
        { cpu: 1024, memoryMb: 5120 },
        { cpu: 1024, memoryMb: 8192 },
        { cpu: 2048, memoryMb: 10_240 },
      ]);
    });

    it('runs its image from the Image<Block> parameter as its own unprivileged user, stops it gracefully, and logs to its log group', () => {
      const uid = posixIdOf(ENV_ID, 'db');
      const [container] = props(s, 'Block-db/TaskDefinition').ContainerDefinitions as Record<string, any>[];
      expect(container).toMatchObject({
        Name: 'service',
        Essential: true,
        Image: { Ref: stackParameters.image('db') },
        User: `${uid}:${uid}`,
        PortMappings: [{ ContainerPort: 6379, Protocol: 'tcp' }],
        StopTimeout: 30,
        LogConfiguration: {
          LogDriver: 'awslogs',
          Options: { 'awslogs-group': { Ref: logicalIdOf(s, 'Block-db/LogGroup') }, 'awslogs-stream-prefix': 'service' },
        },
      });
      expect(uid).toBeGreaterThanOrEqual(0x50000000);
      // Its log group is named and subscribed to the indexer like a function's.
      expect(props(s, 'Block-db/LogGroup').LogGroupName).toBe(`/kinto/env/${ENV_ID}/block/db`);
      expect(props(s, 'Block-db/LogGroupToIndexer').FilterName).toBe('kinto-log-indexer');
    });

    it('keeps its data on an access point of its own: its folder and POSIX user on the platform file system, mounted with TLS and IAM', () => {
      s.template.resourceCountIs('AWS::EFS::AccessPoint', 2);
      const uid = String(posixIdOf(ENV_ID, 'db'));
      expect(props(s, 'Block-db/DataAccessPoint')).toMatchObject({
        FileSystemId: SERVICES.fileSystemId,
        PosixUser: { Uid: uid, Gid: uid },
        RootDirectory: { Path: `/kinto/${ENV_ID}/db`, CreationInfo: { OwnerUid: uid, OwnerGid: uid, Permissions: '750' } },
      });
      expect(props(s, 'Block-cache/DataAccessPoint').RootDirectory.Path).toBe(`/kinto/${ENV_ID}/cache`);
      expect(props(s, 'Block-cache/DataAccessPoint').PosixUser.Uid).not.toBe(uid);
      const td = props(s, 'Block-db/TaskDefinition');
      expect(td.Volumes).toEqual([
        {
          Name: 'data',
          EFSVolumeConfiguration: {
            FilesystemId: SERVICES.fileSystemId,
            TransitEncryption: 'ENABLED',
            AuthorizationConfig: {
              AccessPointId: { 'Fn::GetAtt': [logicalIdOf(s, 'Block-db/DataAccessPoint'), 'AccessPointId'] },
              IAM: 'ENABLED',
            },
          },
        },
      ]);
      expect(td.ContainerDefinitions[0].MountPoints).toEqual([{ SourceVolume: 'data', ContainerPath: '/mnt/kinto-data', ReadOnly: false }]);
      expect(envOf(td.ContainerDefinitions[0].Environment).KINTO_DATA_DIR).toBe('/mnt/kinto-data');
    });

    it('gives its code a task role that may mount its own access point and do nothing else', () => {
      const td = props(s, 'Block-db/TaskDefinition');
      const taskRole = s.resources[td.TaskRoleArn['Fn::GetAtt'][0]];
      expect(taskRole.Properties!.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
        Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      expect(taskRole.Properties!.Policies).toEqual([
        {
          PolicyName: 'MountOwnData',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
                Resource: SERVICES.fileSystemArn,
                Condition: {
                  StringEquals: {
                    'elasticfilesystem:AccessPointArn': { 'Fn::GetAtt': [logicalIdOf(s, 'Block-db/DataAccessPoint'), 'Arn'] },
                  },
                },
              },
            ],
          },
        },
      ]);
      const executionRole = s.resources[td.ExecutionRoleArn['Fn::GetAtt'][0]];
      const statements = executionRole.Properties!.Policies[0].PolicyDocument.Statement as { Action: unknown; Resource: unknown }[];
      expect(statements).toEqual([
        expect.objectContaining({ Action: 'ecr:GetAuthorizationToken', Resource: '*' }),
        expect.objectContaining({
          Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
          Resource: EXAMPLE_PLATFORM.imageRepositoryArn,
        }),
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logicalIdOf(s, 'Block-db/LogGroup'), 'Arn'] },
        }),
      ]);
      // Both carry the environment boundary, as every role of an environment stack.
      for (const role of [taskRole, executionRole])
        expect(role.Properties!.PermissionsBoundary).toBe(EXAMPLE_PLATFORM.permissionsBoundaryArn);
    });

    it("admits only the environment's blocks, on the service's port", () => {
      const sg = props(s, 'Block-db/SecurityGroup');
      expect(sg.VpcId).toBe(SERVICES.vpcId);
      expect(sg.SecurityGroupIngress).toEqual([
        {
          IpProtocol: 'tcp',
          FromPort: 6379,
          ToPort: 6379,
          SourceSecurityGroupId: groupId(s, 'BlocksSecurityGroup'),
          Description: 'The blocks of shop/dev',
        },
      ]);
      expect(props(s, 'Block-cache/SecurityGroup').SecurityGroupIngress).toEqual([
        expect.objectContaining({ FromPort: 8080, ToPort: 8080, SourceSecurityGroupId: groupId(s, 'BlocksSecurityGroup') }),
      ]);
      // No rule anywhere admits an address range, and no separate ingress resource adds one.
      s.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      for (const [, g] of ofType(s, 'AWS::EC2::SecurityGroup'))
        for (const rule of g.Properties!.SecurityGroupIngress ?? []) expect(rule).not.toHaveProperty('CidrIp');
      // The blocks' own group admits nothing; it only marks who may call.
      expect(props(s, 'BlocksSecurityGroup').SecurityGroupIngress).toBeUndefined();
      expect(props(s, 'BlocksSecurityGroup').SecurityGroupEgress).toEqual([
        expect.objectContaining({ IpProtocol: '-1', CidrIp: '0.0.0.0/0' }),
        expect.objectContaining({ IpProtocol: '-1', CidrIpv6: '::/0' }),
      ]);
    });

    it('runs tasks in the public subnets with a public IPv4 address (image pulls, logs), in its group, the blocks group and the tasks group', () => {
      expect(props(s, 'Block-db/Service').NetworkConfiguration).toEqual({
        AwsvpcConfiguration: {
          Subnets: SERVICES.taskSubnetIds,
          SecurityGroups: [groupId(s, 'Block-db/SecurityGroup'), groupId(s, 'BlocksSecurityGroup'), SERVICES.tasksSecurityGroupId],
          AssignPublicIp: 'ENABLED',
        },
      });
    });

    it('names it <block>-<environment>.kinto.internal in the platform namespace (Cloud Map), an A record with a 10 s TTL', () => {
      expect(props(s, 'Block-db/DiscoveryService')).toMatchObject({
        Name: `db-${ENV12}`,
        NamespaceId: SERVICES.namespaceId,
        DnsConfig: { RoutingPolicy: 'MULTIVALUE', DnsRecords: [{ Type: 'A', TTL: 10 }] },
        HealthCheckCustomConfig: { FailureThreshold: 1 },
      });
      expect(props(s, 'Block-db/Service').ServiceRegistries).toEqual([
        { RegistryArn: { 'Fn::GetAtt': [logicalIdOf(s, 'Block-db/DiscoveryService'), 'Arn'] } },
      ]);
      expect(serviceHostOf(ENV_ID, 'db')).toBe(`db-${ENV12}.kinto.internal`);
    });

    it('tags each service with what the waker and reaper read: environment, block, idle seconds (at least 60), always on', () => {
      const tags = (name: string) =>
        Object.fromEntries((props(s, `Block-${name}/Service`).Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
      expect(tags('db')).toEqual({ 'kinto:env': ENV_ID, 'kinto:block': 'db', 'kinto:idle-seconds': '600', 'kinto:always-on': 'false' });
      expect(tags('cache')).toEqual({
        'kinto:env': ENV_ID,
        'kinto:block': 'cache',
        'kinto:idle-seconds': '300',
        'kinto:always-on': 'true',
      });
      const short = synth(exampleEnvironment([service('db', { idleSeconds: 5 })], { platform: PLATFORM }));
      expect(
        (props(short, 'Block-db/Service').Tags as { Key: string; Value: string }[]).find((t) => t.Key === 'kinto:idle-seconds')!.Value,
      ).toBe('60');
    });

    it("gives a service its variables, its secrets (NoEcho parameters), PORT, KINTO_DATA_DIR and the environment's hosts and URLs", () => {
      const env = envOf(props(s, 'Block-cache/TaskDefinition').ContainerDefinitions[0].Environment);
      expect(env).toMatchObject({
        KINTO_BLOCK: 'cache',
        PASSWORD: { Ref: stackParameters.secret('cache', 'PASSWORD') },
        PORT: '8080',
        KINTO_DATA_DIR: '/mnt/kinto-data',
        KINTO_BLOCK_DB_HOST: `db-${ENV12}.kinto.internal`,
        KINTO_BLOCK_DB_PORT: '6379',
        KINTO_GATEWAY_URL: { 'Fn::GetAtt': [logicalIdOf(s, 'HttpApi'), 'ApiEndpoint'] },
      });
      expect(s.template.toJSON().Parameters[stackParameters.secret('cache', 'PASSWORD')]).toMatchObject({ NoEcho: true });
      expect(envOf(props(s, 'Block-db/TaskDefinition').ContainerDefinitions[0].Environment)).toMatchObject({
        PORT: '6379',
        MAXMEMORY: '100mb',
      });
    });

    it('puts every function of the environment in its VPC (private dual-stack subnets, IPv6 egress) with the blocks group and each service host and port', () => {
      const functions = ofType(s, 'AWS::Lambda::Function');
      expect(functions).toHaveLength(3);
      for (const [, fn] of functions) {
        expect(fn.Properties!.VpcConfig).toEqual({
          SubnetIds: SERVICES.functionSubnetIds,
          SecurityGroupIds: [groupId(s, 'BlocksSecurityGroup')],
          Ipv6AllowedForDualStack: true,
        });
        expect(fn.Properties!.Environment.Variables).toMatchObject({
          KINTO_BLOCK_DB_HOST: `db-${ENV12}.kinto.internal`,
          KINTO_BLOCK_DB_PORT: '6379',
          KINTO_BLOCK_CACHE_HOST: `cache-${ENV12}.kinto.internal`,
          KINTO_BLOCK_CACHE_PORT: '8080',
        });
        // Lambda makes the function's network interfaces with its role (the boundary allows it).
        const role = s.resources[fn.Properties!.Role['Fn::GetAtt'][0]];
        expect(role.Properties!.Policies.map((p: { PolicyName: string }) => p.PolicyName)).toEqual([
          'WriteLogGroup',
          'VpcNetworkInterfaces',
        ]);
        expect(role.Properties!.Policies[1].PolicyDocument.Statement[0].Action).toContain('ec2:CreateNetworkInterface');
      }
    });

    it('makes its gateway dual-stack, so functions with IPv6 egress only still reach KINTO_BLOCK_<NAME>_URL', () => {
      expect(props(s, 'HttpApi').IpAddressType).toBe('dualstack');
      expect(
        synth(exampleEnvironment([exampleBlock('api', 'microservice')], { platform: PLATFORM })).resources[logicalIdOf(s, 'HttpApi')]
          .Properties!.IpAddressType,
      ).toBeUndefined();
    });

    it("subscribes the waker to each function's START lines, after the indexer's filter, and to nothing else", () => {
      const filters = ofType(s, 'AWS::Logs::SubscriptionFilter').filter(
        ([, f]) => f.Properties!.DestinationArn === SERVICES.wakerFunctionArn,
      );
      expect(filters.map(([id]) => id).sort()).toEqual(
        ['api', 'site', 'nightly'].map((b) => logicalIdOf(s, `Block-${b}/LogGroupToWaker`)).sort(),
      );
      for (const b of ['api', 'site', 'nightly']) {
        expect(props(s, `Block-${b}/LogGroupToWaker`)).toEqual({
          LogGroupName: { Ref: logicalIdOf(s, `Block-${b}/LogGroup`) },
          FilterName: 'kinto-service-waker',
          FilterPattern: WAKER_FILTER_PATTERN,
          DestinationArn: SERVICES.wakerFunctionArn,
        });
        expect(s.resources[logicalIdOf(s, `Block-${b}/LogGroupToWaker`)].DependsOn).toEqual([
          logicalIdOf(s, `Block-${b}/LogGroupToIndexer`),
        ]);
      }
      expect(WAKER_FILTER_PATTERN).toBe('"START RequestId"');
    });

    it('is clean under cdk-nag AwsSolutions, each acknowledgement with a reason a reviewer can check', () => {
      const { findings, stale, acknowledgements } = nag(s);
      expect(findings).toEqual([]);
      expect(stale).toEqual([]);
      expect(
        acknowledgements
          .map((a) => `${a.where.replace(/^Environment\//, '')} ${a.id}`)
          .filter((a) => /Block-(db|cache)|Block-api\/Role/.test(a))
          .sort(),
      ).toEqual(
        [
          'Block-api/Role AwsSolutions-IAM5[Resource::*]',
          'Block-cache/ExecutionRole AwsSolutions-IAM5[Resource::*]',
          'Block-cache/TaskDefinition AwsSolutions-ECS2',
          'Block-db/ExecutionRole AwsSolutions-IAM5[Resource::*]',
          'Block-db/TaskDefinition AwsSolutions-ECS2',
        ].sort(),
      );
      for (const { where, id, reason } of acknowledgements) {
        const context = `${where} ${id}`;
        expect({ context, reasonLength: reason.length >= 80 }).toEqual({ context, reasonLength: true });
        expect({ context, placeholder: /\b(TODO|TBD|FIXME|not needed|n\/a)\b/i.test(reason) }).toEqual({ context, placeholder: false });
      }
    });
  });

  describe('an environment without a custom service', () => {
    it('keeps its functions out of the VPC (full internet egress), with no security group and no waker, even on a platform that has services', () => {
      const s = synth(exampleEnvironment([exampleBlock('api', 'microservice'), exampleBlock('migrate', 'job')], { platform: PLATFORM }));
      for (const [, fn] of ofType(s, 'AWS::Lambda::Function')) {
        expect(fn.Properties!.VpcConfig).toBeUndefined();
        expect(Object.keys(fn.Properties!.Environment.Variables).filter((k) => /_HOST$|_PORT$/.test(k))).toEqual([]);
      }
      s.template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
      expect(
        ofType(s, 'AWS::Logs::SubscriptionFilter').filter(([, f]) => f.Properties!.DestinationArn === SERVICES.wakerFunctionArn),
      ).toEqual([]);
      s.template.resourceCountIs('AWS::ECS::Service', 0);
    });
  });

  describe('resources', () => {
    const countAll = (d: EnvironmentDescription) => Object.keys(synth(d).resources).length;
    const base = () => [exampleBlock('api', 'microservice'), exampleBlock('site', 'website'), exampleBlock('migrate', 'job')];

    it(`adds ${RESOURCES_PER_CUSTOM_SERVICE} resources per custom service; the first also adds the blocks group and a waker filter per function`, () => {
      const none = countAll(exampleEnvironment(base(), { platform: PLATFORM }));
      const one = countAll(exampleEnvironment([...base(), service('db')], { platform: PLATFORM }));
      const two = countAll(exampleEnvironment([...base(), service('db'), service('cache')], { platform: PLATFORM }));
      expect(two - one).toBe(RESOURCES_PER_CUSTOM_SERVICE);
      expect(RESOURCES_PER_CUSTOM_SERVICE).toBe(9);
      // The first: 9, the blocks' security group, and 3 functions' waker filters.
      expect(one - none).toBe(RESOURCES_PER_CUSTOM_SERVICE + 1 + 3);
    });
  });

  describe('a shut-down environment', () => {
    it("runs no task; keeps each service's log group and access point (free) under the same IDs: its data stays in its folder", () => {
      const awake = synth(withServices());
      const s = synth({ ...withServices(), shutDown: true });
      for (const type of [
        'AWS::ECS::Service',
        'AWS::ECS::TaskDefinition',
        'AWS::EC2::SecurityGroup',
        'AWS::ServiceDiscovery::Service',
        'AWS::IAM::Role',
      ])
        s.template.resourceCountIs(type, 0);
      expect(props(s, 'Block-db/LogGroup').LogGroupName).toBe(`/kinto/env/${ENV_ID}/block/db`);
      s.template.resourceCountIs('AWS::EFS::AccessPoint', 2);
      for (const name of ['db', 'cache']) {
        expect(logicalIdOf(s, `Block-${name}/DataAccessPoint`)).toBe(logicalIdOf(awake, `Block-${name}/DataAccessPoint`));
        expect(props(s, `Block-${name}/DataAccessPoint`)).toEqual(props(awake, `Block-${name}/DataAccessPoint`));
      }
      expect(props(s, 'Block-db/DataAccessPoint').AccessPointTags).toEqual(
        expect.arrayContaining([
          { Key: 'kinto:env', Value: ENV_ID },
          { Key: 'kinto:block', Value: 'db' },
        ]),
      );
    });
  });

  describe('validation', () => {
    const attempt =
      (blocks: EnvironmentBlock[], platform: PlatformRefs = PLATFORM) =>
      () =>
        synth(exampleEnvironment(blocks, { platform }));

    it.each([
      [
        'a port outside 1-65535',
        [service('db', { port: 70_000 })],
        PLATFORM,
        /block "db": port must be a whole number from 1 to 65535.*got 70000/,
      ],
      [
        'an idle time over a day',
        [service('db', { idleSeconds: 90_000 })],
        PLATFORM,
        /idleSeconds must be a whole number of seconds from 1 to 86400, got 90000/,
      ],
      [
        "platform services' parts with a field missing",
        [service('db')],
        { ...EXAMPLE_PLATFORM, services: { ...SERVICES, functionSubnetIds: [] } },
        /platform\.services: functionSubnetIds must be a non-empty list of subnet ids/,
      ],
    ] as const)('refuses %s, saying what to do', (_what, blocks, platform, message) => {
      expect(attempt([...blocks], platform)).toThrow(message);
    });

    it("accepts Lambda's reserved variable names on a service (it is not a Lambda function)", () => {
      expect(attempt([service('db', { variables: { AWS_REGION: 'eu-west-1' } })])).not.toThrow();
    });
  });
});

describe('Function: describeEnvironment and the fast path, with custom services', () => {
  const facts: GatewayFacts = { gatewayUrl: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com', internalKey: 'k'.repeat(43) };
  /** A deployment plan with only what the description and the fast path read. */
  function plan(
    blocks: {
      name: string;
      type: EnvironmentBlock['type'];
      port?: number;
      config?: Record<string, unknown>;
      secrets?: Record<string, string>;
    }[],
  ): DeploymentPlan {
    return {
      project: { name: 'shop' },
      environment: { id: ENV_ID, name: 'dev' },
      release: { version: '1.0.0' },
      deployment: { id: 'dep-1' },
      blocks: blocks.map((b) => ({
        block: { name: b.name, type: b.type, build: { buildArgs: {}, ...(b.port ? { port: b.port } : {}) }, buildId: `build-${b.name}` },
        config: { variables: {}, memoryMb: 512, visibility: b.type === 'microservice' ? 'protected' : 'internal', ...b.config },
        build: { id: `build-${b.name}`, artifact: IMAGE },
        ...(b.secrets ? { secrets: b.secrets } : {}),
      })),
    } as unknown as DeploymentPlan;
  }
  const options = { internalKey: facts.internalKey, versions: {} };

  it("gives the fast path the same hosts and ports as the stack's functions, so a function update never drops them", () => {
    const p = plan([
      { name: 'api', type: 'microservice' },
      { name: 'db', type: 'custom-service', port: 6379 },
    ]);
    const fast = desiredFunction(p, p.blocks[0], facts).environment;
    expect(fast).toMatchObject({ KINTO_BLOCK_DB_HOST: `db-${ENV12}.kinto.internal`, KINTO_BLOCK_DB_PORT: '6379' });
    const { description } = describeEnvironment(p, PLATFORM, options);
    const stackVars = ofFunction(synth(description), 'api');
    for (const name of ['KINTO_BLOCK_DB_HOST', 'KINTO_BLOCK_DB_PORT']) expect(stackVars[name]).toBe(fast[name]);
  });

  it("carries a service's sleep settings from its configuration, and the platform's service parts only where a service is", () => {
    const withService = describeEnvironment(
      plan([
        { name: 'api', type: 'microservice' },
        { name: 'db', type: 'custom-service', config: { idleTimeoutSeconds: 120, alwaysOn: true } },
      ]),
      PLATFORM,
      options,
    ).description;
    expect(withService.platform.services).toEqual(SERVICES);
    expect(withService.blocks[1]).toMatchObject({ type: 'custom-service', image: IMAGE, idleSeconds: 120, alwaysOn: true });
    const without = describeEnvironment(plan([{ name: 'api', type: 'microservice' }]), PLATFORM, options);
    expect(without.description.platform.services).toBeUndefined();
    // So a platform that gains custom services changes no shape of an environment without one.
    expect(without.shape).toBe(describeEnvironment(plan([{ name: 'api', type: 'microservice' }]), EXAMPLE_PLATFORM, options).shape);
  });

  it("changes the shape (a stack update) when a service's memory, sleep settings or secret values change, never exposing a secret", () => {
    const shape = (config: Record<string, unknown>, secrets?: Record<string, string>) =>
      describeEnvironment(plan([{ name: 'db', type: 'custom-service', config, ...(secrets ? { secrets } : {}) }]), PLATFORM, options).shape;
    const base = shape({}, { PASSWORD: 'one' });
    expect(shape({}, { PASSWORD: 'one' })).toBe(base);
    expect(shape({ memoryMb: 1024 }, { PASSWORD: 'one' })).not.toBe(base);
    expect(shape({ idleTimeoutSeconds: 60 }, { PASSWORD: 'one' })).not.toBe(base);
    expect(shape({ alwaysOn: true }, { PASSWORD: 'one' })).not.toBe(base);
    expect(shape({}, { PASSWORD: 'two' })).not.toBe(base);
    const { description } = describeEnvironment(
      plan([{ name: 'db', type: 'custom-service', secrets: { PASSWORD: 'one' } }]),
      PLATFORM,
      options,
    );
    expect(JSON.stringify(description)).not.toContain('"one"');
    expect(shapeOf(description)).toBe(base);
  });
});

describe('Function: readDeployerConfig, where custom services run', () => {
  const env = {
    STATE_TABLE_NAME: 't',
    PLATFORM_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:k',
    STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m',
    STACK_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
    TEMPLATE_BUCKET: 'b',
    GATEWAY_FUNCTION_ARN: EXAMPLE_PLATFORM.gatewayFunctionArn,
    AUTHORIZER_FUNCTION_ARN: EXAMPLE_PLATFORM.authorizerFunctionArn,
    LOG_INDEXER_FUNCTION_ARN: EXAMPLE_PLATFORM.logIndexerFunctionArn,
    IMAGE_REPOSITORY_ARN: EXAMPLE_PLATFORM.imageRepositoryArn,
  };

  it('reads BLOCK_SERVICES into platform.services, and leaves it out when the platform has none', () => {
    expect(readDeployerConfig({ ...env, BLOCK_SERVICES: JSON.stringify(SERVICES) }).platform.services).toEqual(SERVICES);
    expect(readDeployerConfig(env).platform.services).toBeUndefined();
  });

  it('reads what wakes services before jobs (the reaper schedules), all of it or nothing', () => {
    const waking = {
      REAPER_SCHEDULE_GROUP: 'Kinto-service-reapers',
      REAPER_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-ServiceWakerReaper',
      REAPER_ROLE_ARN: 'arn:aws:iam::123456789012:role/Kinto-ServiceWakerSchedulerRole',
    };
    expect(readDeployerConfig({ ...env, ...waking }).serviceWaking).toEqual({
      scheduleGroup: waking.REAPER_SCHEDULE_GROUP,
      reaperFunctionArn: waking.REAPER_FUNCTION_ARN,
      reaperRoleArn: waking.REAPER_ROLE_ARN,
    });
    expect(readDeployerConfig(env).serviceWaking).toBeUndefined();
    expect(() => readDeployerConfig({ ...env, REAPER_SCHEDULE_GROUP: 'g' })).toThrow(/REAPER_FUNCTION_ARN/);
  });

  it('refuses a BLOCK_SERVICES that is not JSON or misses a part, naming it', () => {
    expect(() => readDeployerConfig({ ...env, BLOCK_SERVICES: '{' })).toThrow(/BLOCK_SERVICES is not JSON/);
    const { namespaceId: _, ...missing } = SERVICES;
    expect(() => readDeployerConfig({ ...env, BLOCK_SERVICES: JSON.stringify(missing) })).toThrow(
      /BLOCK_SERVICES: namespaceId must be a non-empty string/,
    );
  });
});

function ofFunction(s: Synth, block: string): Record<string, unknown> {
  return s.resources[logicalIdOf(s, `Block-${block}/Function`)].Properties!.Environment.Variables as Record<string, unknown>;
}
