import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleBlock, exampleDescription, exampleEnvironment, EXAMPLE_PLATFORM, manyBlocks } from '../../bin/examples/environments';
import type { EnvironmentDescription } from '../../lambdas/adapters/aws/runtime/environment-description';
import { synthesizeEnvironment } from '../../lib/synthesize-environment';

/**
 * An environment must cost $0 while nobody calls it. Every resource type its stack may hold is
 * classified here: a new type fails this test until someone decides how it bills (and, if it bills
 * while idle, names it in the README's cost table).
 */
const FREE_WHEN_IDLE: Record<string, string> = {
  'AWS::ApiGatewayV2::Api': 'per request',
  'AWS::ApiGatewayV2::Stage': 'no charge (access logs per GB)',
  'AWS::ApiGatewayV2::Route': 'no charge',
  'AWS::ApiGatewayV2::Integration': 'no charge',
  'AWS::ApiGatewayV2::Authorizer': 'no charge (the authorizer Lambda bills per call)',
  'AWS::Lambda::Function': 'per request and GB-second',
  'AWS::Lambda::Alias': 'no charge (without provisioned concurrency, checked below)',
  'AWS::Lambda::Permission': 'no charge',
  'AWS::IAM::Role': 'no charge',
  'AWS::Scheduler::Schedule': 'per invocation (14 million a month free), nothing while idle',
  'AWS::Logs::SubscriptionFilter': 'no charge (the indexer and waker Lambdas bill per batch)',
  // Custom services (issue 21): asleep at desired count 0, so Fargate and their public IPv4 bill nothing while idle.
  'AWS::ECS::Service': 'per second of running tasks (vCPU, GB, public IPv4), nothing at desired count 0 (checked below)',
  'AWS::ECS::TaskDefinition': 'no charge',
  'AWS::EFS::AccessPoint': "no charge (the data it points at is the platform file system's storage, per GB)",
  'AWS::EC2::SecurityGroup': 'no charge',
  'AWS::ServiceDiscovery::Service': "no charge while no task is registered (the namespace's hosted zone is the platform's)",
  // The named exceptions: they bill while idle, and the README's cost table lists them.
  'AWS::Logs::LogGroup': 'BILLS WHILE IDLE: storage only, $0.03/GB-month, bounded by retention',
  'AWS::CloudWatch::Dashboard': 'BILLS WHILE IDLE beyond the free tier: $3/month per dashboard',
};

/** Types that bill by the hour or month whatever the traffic; none may appear. */
const NEVER = [
  'AWS::EC2::NatGateway',
  'AWS::EC2::EIP',
  'AWS::EC2::Instance',
  'AWS::EC2::VPCEndpoint',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancing::LoadBalancer',
  // Custom services use the platform's file system, namespace and cluster: an environment that
  // made its own would bill (hosted zone $0.50/month) or scatter data across file systems.
  'AWS::EFS::FileSystem',
  'AWS::EFS::MountTarget',
  'AWS::ServiceDiscovery::PrivateDnsNamespace',
  'AWS::ServiceDiscovery::PublicDnsNamespace',
  'AWS::ECS::Cluster',
  'AWS::AutoScaling::AutoScalingGroup',
  'AWS::ApplicationAutoScaling::ScalableTarget',
  'AWS::RDS::DBInstance',
  'AWS::ElastiCache::CacheCluster',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
  'AWS::SSM::Parameter',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::CompositeAlarm',
  'AWS::WAFv2::WebACL',
  'AWS::Route53::HostedZone',
  'AWS::Lambda::Version',
  'AWS::Lambda::EventSourceMapping',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGatewayV2::VpcLink',
  'AWS::Kinesis::Stream',
];

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

const IMAGE = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/kinto-blocks@sha256:${'b'.repeat(64)}`;
const SERVICES = {
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/Kinto-BlocksCluster',
  clusterName: 'Kinto-BlocksCluster',
  vpcId: 'vpc-0123456789abcdef0',
  taskSubnetIds: ['subnet-0a1b2c3d4e5f60001'],
  functionSubnetIds: ['subnet-0a1b2c3d4e5f60003'],
  tasksSecurityGroupId: 'sg-0a1b2c3d4e5f60005',
  fileSystemId: 'fs-0a1b2c3d4e5f60006',
  fileSystemArn: 'arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0a1b2c3d4e5f60006',
  namespaceId: 'ns-abcdefghijklmnop',
  namespaceArn: 'arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-abcdefghijklmnop',
  wakerFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Kinto-ServiceWaker',
};

describe('Environment cost guard: nothing of an environment bills while idle but its log storage and dashboard', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
  const saved = { HOME: process.env.HOME, CDK_HOME: process.env.CDK_HOME };
  const environments: Record<string, Resources> = {};

  beforeAll(() => {
    process.env.HOME = home;
    process.env.CDK_HOME = home;
    const cases: Record<string, EnvironmentDescription> = {
      example: exampleDescription(),
      '50 blocks': exampleEnvironment(manyBlocks(50)),
      'password websites': exampleEnvironment([
        exampleBlock('site', 'website', { basicAuth: { username: 'u', passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA' } }),
        exampleBlock('docs', 'website', {
          visibility: 'protected',
          basicAuth: { username: 'u', passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA' },
        }),
      ]),
      'shut down': { ...exampleEnvironment(manyBlocks(10)), shutDown: true },
      'custom services': exampleEnvironment(
        [
          ...manyBlocks(10),
          exampleBlock('db', 'custom-service', { port: 6379, image: IMAGE }),
          exampleBlock('queue', 'custom-service', { idleSeconds: 900, image: IMAGE }),
          exampleBlock('cache', 'custom-service', { alwaysOn: true, image: IMAGE }),
        ],
        { platform: { ...EXAMPLE_PLATFORM, services: SERVICES } },
      ),
      'custom services, shut down': {
        ...exampleEnvironment([exampleBlock('db', 'custom-service', { image: IMAGE })], {
          platform: { ...EXAMPLE_PLATFORM, services: SERVICES },
        }),
        shutDown: true,
      },
    };
    for (const [name, d] of Object.entries(cases)) {
      environments[name] = synthesizeEnvironment(d, { deploymentId: 'dep', shape: 'shape' }).template.Resources as Resources;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  });

  const all = (): [string, Resources][] => Object.entries(environments);

  it('creates only resource types whose idle cost has been classified', () => {
    for (const [name, resources] of all()) {
      const unclassified = [...new Set(Object.values(resources).map((r) => r.Type))].filter((t) => !(t in FREE_WHEN_IDLE));
      expect({ name, unclassified }).toEqual({ name, unclassified: [] });
    }
  });

  it.each(NEVER)('creates no %s', (type) => {
    for (const [name, resources] of all()) {
      expect({ name, count: Object.values(resources).filter((r) => r.Type === type).length }).toEqual({ name, count: 0 });
    }
  });

  it('bills while idle only for log storage and one dashboard per environment', () => {
    for (const [name, resources] of all()) {
      const billing = [...new Set(Object.values(resources).map((r) => r.Type))].filter((t) => FREE_WHEN_IDLE[t]?.startsWith('BILLS'));
      expect({ name, billing: billing.sort() }).toEqual({ name, billing: ['AWS::CloudWatch::Dashboard', 'AWS::Logs::LogGroup'] });
      expect(Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    }
  });

  it('bounds log storage: every log group has a retention', () => {
    for (const [name, resources] of all()) {
      for (const g of Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup')) {
        expect({ name, group: g.Properties?.LogGroupName, retention: typeof g.Properties?.RetentionInDays }).toEqual({
          name,
          group: g.Properties?.LogGroupName,
          retention: 'number',
        });
      }
    }
  });

  it('has no provisioned concurrency and no reserved concurrency', () => {
    for (const [name, resources] of all()) {
      for (const r of Object.values(resources)) {
        const context = `${name} ${r.Type}`;
        if (r.Type === 'AWS::Lambda::Alias')
          expect({ context, pc: r.Properties?.ProvisionedConcurrencyConfig }).toEqual({ context, pc: undefined });
        // Reserved concurrency is free, but a cap of 0 would silently stop a block: none is set.
        if (r.Type === 'AWS::Lambda::Function')
          expect({ context, rc: r.Properties?.ReservedConcurrentExecutions }).toEqual({ context, rc: undefined });
      }
    }
  });

  it('runs nothing at all while shut down: no function, no schedule, no service', () => {
    for (const name of ['shut down', 'custom services, shut down']) {
      const types = new Set(Object.values(environments[name]).map((r) => r.Type));
      expect({
        name,
        fn: types.has('AWS::Lambda::Function'),
        schedule: types.has('AWS::Scheduler::Schedule'),
        ecs: types.has('AWS::ECS::Service'),
      }).toEqual({
        name,
        fn: false,
        schedule: false,
        ecs: false,
      });
    }
  });

  it('runs no task while idle: every custom service at desired count 0, unless the team chose always on (tagged, and named in the README)', () => {
    const services = Object.values(environments['custom services']).filter((r) => r.Type === 'AWS::ECS::Service');
    expect(services).toHaveLength(3);
    for (const r of services) {
      const tags = Object.fromEntries((r.Properties!.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
      expect({ service: r.Properties!.ServiceName, desired: r.Properties!.DesiredCount }).toEqual({
        service: r.Properties!.ServiceName,
        desired: tags['kinto:always-on'] === 'true' ? 1 : 0,
      });
    }
    // Fargate only (no EC2 capacity that bills per instance-hour), and no auto scaling that could hold a task up.
    for (const r of services) expect(r.Properties!.LaunchType).toBe('FARGATE');
  });
});
