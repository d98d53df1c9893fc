import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { FREE_TIER_DASHBOARD_METRICS } from '../../lib/platform-dashboard';
import { synthPlatform, type SynthesizedPlatform } from './support/synth-platform';

/**
 * Kinto must cost (almost) nothing while nobody calls it. Every resource type the stack creates
 * is classified here: a new type fails this test until someone decides how it bills.
 */
const FREE_WHEN_IDLE: Record<string, string> = {
  'AWS::DynamoDB::Table': 'on-demand: per request, plus storage per GB',
  'AWS::Lambda::Function': 'per request and GB-second',
  'AWS::Lambda::Permission': 'no charge',
  'AWS::Lambda::EventInvokeConfig': 'no charge (retry settings of asynchronous invocations)',
  'AWS::Lambda::LayerVersion': 'no charge (code storage is free up to 75 GB)',
  'AWS::IAM::Role': 'no charge',
  'AWS::IAM::Policy': 'no charge',
  'AWS::IAM::ManagedPolicy': "no charge (the environments' permissions boundary)",
  'AWS::StepFunctions::StateMachine': 'per state transition (Standard workflows; 4,000 a month free), only while a deployment runs',
  'AWS::Logs::LogGroup': 'per GB ingested and stored',
  'AWS::SecretsManager::Secret': 'BILLS WHILE IDLE',
  'AWS::ApiGatewayV2::Api': 'per request',
  'AWS::ApiGatewayV2::Integration': 'no charge',
  'AWS::ApiGatewayV2::Route': 'no charge',
  'AWS::ApiGatewayV2::Stage': 'no charge (access logs per GB)',
  'AWS::CodeBuild::Project': 'per build minute',
  'AWS::ECR::Repository': 'per GB stored; scan on push is free (basic scanning)',
  'AWS::Events::Rule': 'AWS service events on the default bus are free',
  'AWS::SQS::Queue': 'per request',
  'AWS::SQS::QueuePolicy': 'no charge',
  'AWS::EC2::VPC': 'no charge',
  'AWS::EC2::Subnet': 'no charge',
  'AWS::EC2::RouteTable': 'no charge',
  'AWS::EC2::Route': 'no charge',
  'AWS::EC2::SubnetRouteTableAssociation': 'no charge',
  'AWS::EC2::InternetGateway': 'no charge (public IPv4 addresses bill per hour only while a task holds one)',
  'AWS::EC2::VPCGatewayAttachment': 'no charge',
  'AWS::EC2::FlowLog': 'per GB of log ingested (rejected traffic only)',
  'AWS::EC2::VPCCidrBlock': "no charge (the VPC's Amazon-provided IPv6 range)",
  'AWS::EC2::EgressOnlyInternetGateway': 'no charge (unlike a NAT gateway: no hourly or per-GB processing fee; data out at internet rates)',
  'AWS::EC2::SecurityGroup': 'no charge',
  'AWS::EC2::SecurityGroupIngress': 'no charge',
  'AWS::EFS::FileSystem': "per GB stored (elastic throughput: per GB read and written); custom services' data",
  'AWS::EFS::MountTarget': 'no charge',
  'AWS::EFS::AccessPoint': 'no charge (the service-data function mounts /kinto through it)',
  'AWS::EC2::SecurityGroupEgress': 'no charge',
  'AWS::Scheduler::ScheduleGroup': 'no charge (reaper schedules exist only while a custom service is awake)',
  'AWS::ServiceDiscovery::PrivateDnsNamespace': 'BILLS WHILE IDLE: its Route 53 private hosted zone, $0.50/month',
  'AWS::ECS::Cluster': 'no charge (Container Insights off)',
  'AWS::ECS::ClusterCapacityProviderAssociations': 'no charge',
  'AWS::S3::Bucket': 'per GB stored and per request',
  'AWS::S3::BucketPolicy': 'no charge',
  'AWS::CloudFront::Distribution': 'per request and GB out',
  'AWS::CloudFront::OriginAccessControl': 'no charge',
  'AWS::CloudWatch::Dashboard': 'BILLS WHILE IDLE beyond the free tier',
  'Custom::VpcRestrictDefaultSG': 'a deploy-time Lambda call',
  'Custom::CDKBucketDeployment': 'a deploy-time Lambda call',
  'AWS::CDK::Metadata': 'no charge',
};

/** What bills by the month whatever the traffic: each must be in the README's cost table. */
const BILLS_WHILE_IDLE: Record<string, number> = {
  'AWS::SecretsManager::Secret': 2,
  // Free for 3 dashboards of up to 50 metrics per account; $3/month beyond.
  'AWS::CloudWatch::Dashboard': 1,
  // Custom services' private DNS names (kinto.internal): one hosted zone for the platform.
  'AWS::ServiceDiscovery::PrivateDnsNamespace': 1,
};

/** Types that bill by the hour or month whatever the traffic; none may appear. */
const NEVER = [
  'AWS::EC2::NatGateway',
  'AWS::EC2::EIP',
  'AWS::EC2::Instance',
  'AWS::EC2::VPCEndpoint',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancing::LoadBalancer',
  'AWS::AutoScaling::AutoScalingGroup',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::ElastiCache::CacheCluster',
  'AWS::KMS::Key',
  'AWS::WAFv2::WebACL',
  'AWS::CloudWatch::Alarm',
  'AWS::Route53::HostedZone',
  'AWS::Kinesis::Stream',
  'AWS::ApiGateway::RestApi',
  'AWS::EC2::TransitGateway',
  'AWS::EC2::ClientVpnEndpoint',
  'AWS::EC2::VPNConnection',
  'AWS::ServiceDiscovery::PublicDnsNamespace',
  'AWS::ECS::Service',
  'AWS::Scheduler::Schedule',
];

describe('Cost guard: nothing bills while idle but what the README lists', () => {
  let platform: SynthesizedPlatform;
  let resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;

  beforeAll(() => {
    platform = synthPlatform({ withConsole: true });
    resources = platform.template.toJSON().Resources;
  });
  afterAll(() => platform.dispose());

  const typeOf = (type: string): string => (type.startsWith('Custom::CDKBucketDeployment') ? 'Custom::CDKBucketDeployment' : type);

  it('creates only resource types whose idle cost has been classified', () => {
    const unclassified = [...new Set(Object.values(resources).map((r) => typeOf(r.Type)))].filter((t) => !(t in FREE_WHEN_IDLE));
    expect(unclassified).toEqual([]);
  });

  it.each(NEVER)('creates no %s', (type) => {
    platform.template.resourceCountIs(type, 0);
  });

  it('bills while idle only for the secrets and the dashboard, which the README cost table lists', () => {
    const counts: Record<string, number> = {};
    for (const r of Object.values(resources)) {
      if (FREE_WHEN_IDLE[typeOf(r.Type)]?.startsWith('BILLS')) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
    }
    expect(counts).toEqual(BILLS_WHILE_IDLE);

    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- section:aws -->'), readme.indexOf('<!-- /section:aws -->'));
    for (const type of Object.keys(BILLS_WHILE_IDLE))
      expect({ type, listed: section.includes(`\`${type}\``) }).toEqual({ type, listed: true });
  });

  it('uses on-demand DynamoDB capacity only', () => {
    const tables = Object.values(resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) {
      expect(t.Properties?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties?.ProvisionedThroughput).toBeUndefined();
      for (const gsi of (t.Properties?.GlobalSecondaryIndexes ?? []) as { ProvisionedThroughput?: unknown }[])
        expect(gsi.ProvisionedThroughput).toBeUndefined();
    }
  });

  it('runs no ECS service above 0 tasks and no provisioned Lambda concurrency', () => {
    for (const r of Object.values(resources)) {
      if (r.Type === 'AWS::ECS::Service') expect(r.Properties?.DesiredCount ?? 0).toBe(0);
    }
    platform.template.resourcePropertiesCountIs('AWS::Lambda::Alias', { ProvisionedConcurrencyConfig: Match.anyValue() }, 0);
    platform.template.resourcePropertiesCountIs('AWS::Lambda::Version', { ProvisionedConcurrencyConfig: Match.anyValue() }, 0);
  });

  it('keeps the dashboard within the free tier (at most 50 metrics)', () => {
    const [dashboard] = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const body = dashboard.Properties!.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const json = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    const widgets = (JSON.parse(json) as { widgets: { properties: { metrics?: unknown[] } }[] }).widgets;
    const metrics = widgets
      .flatMap((w) => w.properties.metrics ?? [])
      .filter((m) => Array.isArray(m) && !(typeof m[0] === 'object' && m[0] !== null && 'expression' in m[0]));
    expect(metrics.length).toBeGreaterThan(10);
    expect(metrics.length).toBeLessThanOrEqual(FREE_TIER_DASHBOARD_METRICS);
  });
});
