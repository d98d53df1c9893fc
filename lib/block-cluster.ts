import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { SERVICE_NAMESPACE } from '../lambdas/adapters/aws/services/service-names';
import type { ServicePlatformRefs } from '../lambdas/adapters/aws/services/service-refs';
import { ServiceDataFunction } from './service-data-function';

export interface BlockClusterProps {
  /**
   * Availability zones to spread custom services and their file system over (a public and a
   * private subnet each, and a mount target).
   * @default 2
   */
  readonly maxAzs?: number;
  /** Of the flow logs and the service-data function's logs. @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * NAT gateways that give functions of environments with a custom service IPv4 egress (they
   * have IPv6 egress without one). Each bills by the hour, idle or not (about $32.85 a month in
   * us-east-1, plus $0.045 per GB): an opt-in, named in the README.
   * @default 0
   */
  readonly natGateways?: number;
  /**
   * What happens to the custom services' file system (their data) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;
}

/** Subnet groups of the VPC (their names are construct IDs: never rename them). */
export const SUBNET_GROUPS = { tasks: 'public', functions: 'private' } as const;

/**
 * Where custom services run, and how blocks reach them, without a NAT gateway or a load balancer:
 * - a **dual-stack VPC**: public subnets for Fargate tasks (a public IPv4 address, billed only
 *   while a task runs, to pull images from ECR and send logs), private subnets with an
 *   **egress-only internet gateway** (free) for the Lambda functions of environments that have a
 *   custom service, which keep IPv6 egress and lose IPv4 egress (unless `natGateways` is set);
 * - an **ECS cluster** (Fargate, arm64 tasks; no Container Insights);
 * - an encrypted **EFS file system** (elastic throughput, infrequent access after 30 days, retained
 *   with the stack's data): each service of each environment gets its own access point on it
 *   (root directory `/kinto/<envId>/<block>`, its own POSIX user), and its file system policy
 *   refuses any mount that is not through an access point or not over TLS; its mount targets
 *   admit NFS only from the **tasks' security group**;
 * - a **private DNS namespace** (`kinto.internal`, Cloud Map): services are named
 *   `<block>-<12 characters of the environment id>.kinto.internal`. Its Route 53 private hosted
 *   zone bills $0.50 a month, the one idle cost here;
 * - flow logs of rejected traffic (what a reviewer looks for; accepted traffic would bill
 *   ingestion for nothing);
 * - the **service-data** function: the only mount of the file system's `/kinto` as a whole, which
 *   names or deletes a deleted environment's folders (ServiceDataFunction).
 * Environment stacks add the rest per service (task definition, service, access point, security
 * group, Cloud Map service); everything here but storage and the hosted zone is free while idle.
 */
export class BlockCluster extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly flowLogs: logs.LogGroup;
  /** Custom services' data: one access point per environment and service. */
  public readonly fileSystem: efs.FileSystem;
  /** Every service task carries it; the file system's mount targets admit NFS from it alone. */
  public readonly tasksSecurityGroup: ec2.SecurityGroup;
  public readonly namespace: servicediscovery.CfnPrivateDnsNamespace;
  /** Names or deletes a deleted environment's data on the file system (the control API invokes it). */
  public readonly serviceData: ServiceDataFunction;

  constructor(scope: Construct, id: string, props: BlockClusterProps = {}) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    if (!Number.isInteger(maxAzs) || maxAzs < 1 || maxAzs > 6) {
      throw new Error(`BlockCluster ${id}: maxAzs must be a whole number from 1 to 6, got ${maxAzs}.`);
    }
    const natGateways = props.natGateways ?? 0;
    if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > maxAzs) {
      throw new Error(
        `BlockCluster ${id}: natGateways must be a whole number from 0 (the default: IPv6 egress only) to maxAzs (${maxAzs}), got ${natGateways}.`,
      );
    }
    this.flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs,
      natGateways,
      ipProtocol: ec2.IpProtocol.DUAL_STACK,
      subnetConfiguration: [
        { name: SUBNET_GROUPS.tasks, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 },
        // "With egress": ::/0 to the egress-only internet gateway (and 0.0.0.0/0 to a NAT if opted in).
        { name: SUBNET_GROUPS.functions, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      // Nothing may use the default security group by accident: it gets no rules.
      restrictDefaultSecurityGroup: true,
      flowLogs: {
        rejected: { destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT },
      },
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      enableFargateCapacityProviders: true,
      // Container Insights bills custom metrics per cluster and service each month, idle or not.
      containerInsightsV2: ecs.ContainerInsights.DISABLED,
    });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-ECS4',
      reason:
        'Container Insights bills its custom metrics per cluster and service every month, idle or not, against the free-when-idle goal; ' +
        "Fargate blocks' requests, errors and latency come from the gateway access logs and the log-indexer's metrics instead.",
    });

    this.tasksSecurityGroup = new ec2.SecurityGroup(this, 'TasksSecurityGroup', {
      vpc: this.vpc,
      description: 'Kinto custom services tasks: may mount the file system of custom services (each service adds a group of its own)',
      allowAllOutbound: true,
      allowAllIpv6Outbound: true,
    });
    const mountTargets = new ec2.SecurityGroup(this, 'DataSecurityGroup', {
      vpc: this.vpc,
      description: 'Kinto custom services file system: NFS from custom services tasks only',
      allowAllOutbound: false,
    });
    this.fileSystem = new efs.FileSystem(this, 'Data', {
      vpc: this.vpc,
      vpcSubnets: { subnetGroupName: SUBNET_GROUPS.functions },
      securityGroup: mountTargets,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      // Billed per GB read and written: nothing while idle, and no burst credits to run out of.
      throughputMode: efs.ThroughputMode.ELASTIC,
      // A sleeping environment's data costs less than half in infrequent access; one read brings it back.
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      outOfInfrequentAccessPolicy: efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
      removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
      fileSystemPolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'TlsOnly',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
            conditions: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          // Each service mounts its own access point (its folder, its user); the root never.
          new iam.PolicyStatement({
            sid: 'AccessPointsOnly',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
            conditions: { Null: { 'elasticfilesystem:AccessPointArn': 'true' } },
          }),
        ],
      }),
    });
    this.fileSystem.connections.allowDefaultPortFrom(this.tasksSecurityGroup, 'NFS from custom services');
    // Data outlives environments' stacks (their access points are pointers): this names or deletes it.
    this.serviceData = new ServiceDataFunction(this, 'ServiceData', {
      vpc: this.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.functions },
      fileSystem: this.fileSystem,
      logRetention: props.flowLogRetention,
    });

    // L1: the L2 namespace cannot set the SOA TTL, which bounds how long resolvers remember that a
    // sleeping service has no address (negative caching), and so how soon a woken one is found.
    this.namespace = new servicediscovery.CfnPrivateDnsNamespace(this, 'Namespace', {
      name: SERVICE_NAMESPACE,
      vpc: this.vpc.vpcId,
      description: "Kinto custom services: <block>-<environment>.kinto.internal, reached by the environment's own blocks",
      properties: { dnsProperties: { soa: { ttl: 10 } } },
    });
  }

  /** What environment stacks need to run custom services here (tokens, resolved at deploy). */
  serviceRefs(wakerFunctionArn: string): ServicePlatformRefs {
    return {
      clusterArn: this.cluster.clusterArn,
      clusterName: this.cluster.clusterName,
      vpcId: this.vpc.vpcId,
      taskSubnetIds: this.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.tasks }).subnetIds,
      functionSubnetIds: this.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.functions }).subnetIds,
      tasksSecurityGroupId: this.tasksSecurityGroup.securityGroupId,
      fileSystemId: this.fileSystem.fileSystemId,
      fileSystemArn: this.fileSystem.fileSystemArn,
      namespaceId: this.namespace.attrId,
      namespaceArn: this.namespace.attrArn,
      wakerFunctionArn,
    };
  }

  /** `arn:...:ec2:<region>:<account>:vpc/<id>`: the condition that keeps security-group grants in this VPC. */
  get vpcArn(): string {
    return Stack.of(this).formatArn({ service: 'ec2', resource: 'vpc', resourceName: this.vpc.vpcId });
  }
}
