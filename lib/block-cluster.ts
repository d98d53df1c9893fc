import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface BlockClusterProps {
  /**
   * Availability zones to spread Fargate blocks over (one public subnet each).
   * @default 2
   */
  readonly maxAzs?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * Where Fargate blocks (custom services, always-on blocks) will run: a VPC with public subnets
 * only and an ECS cluster with Fargate capacity providers. No NAT gateway and no load balancer:
 * tasks get public addresses and are reached through the environment's HTTP API (VPC link + Cloud
 * Map, created by the deployer). An empty cluster and VPC cost nothing. Flow logs record rejected
 * traffic only (what a reviewer looks for; accepted traffic would bill ingestion for nothing).
 */
export class BlockCluster extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly flowLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BlockClusterProps = {}) {
    super(scope, id);
    const maxAzs = props.maxAzs ?? 2;
    if (!Number.isInteger(maxAzs) || maxAzs < 1 || maxAzs > 6) {
      throw new Error(`BlockCluster ${id}: maxAzs must be a whole number from 1 to 6, got ${maxAzs}.`);
    }
    this.flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
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
  }
}
