import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SERVICE_DATA_ENV, SERVICE_DATA_MOUNT } from '../lambdas/adapters/aws/services/service-data-protocol';
import { VPC_NETWORK_INTERFACE_ACTIONS } from './environment-stack';
import { handlerEntry, KintoFunction } from './kinto-function';

export interface ServiceDataFunctionProps {
  readonly vpc: ec2.IVpc;
  /** The subnets of the file system's mount targets. */
  readonly subnets: ec2.SubnetSelection;
  /** The custom services' file system (BlockCluster). */
  readonly fileSystem: efs.FileSystem;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The one part of the platform that mounts the custom services' file system as a whole: a small
 * Lambda (`lambdas/handlers/service-data.ts`) the control API invokes when an environment is
 * deleted, to name the folders `/kinto/<envId>/<block>` its services left, or delete them when
 * the deletion asks. Free while idle (no NAT, no endpoint: it calls no AWS API).
 * - its **access point** has root `/kinto` and POSIX user 0: services' folders belong to a user
 *   each (mode 750), so only root may delete them; only this function's role may mount it, and
 *   root access is granted on that access point alone;
 * - its **security group** admits nothing and may only reach the mount targets over NFS.
 */
export class ServiceDataFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly accessPoint: efs.AccessPoint;
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ServiceDataFunctionProps) {
    super(scope, id);
    this.accessPoint = new efs.AccessPoint(this, 'AccessPoint', {
      fileSystem: props.fileSystem,
      path: '/kinto',
      // Root, to delete folders owned by every service's own user; creationInfo only if /kinto is new.
      posixUser: { uid: '0', gid: '0' },
      createAcl: { ownerUid: '0', ownerGid: '0', permissions: '755' },
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Kinto service-data function: NFS to the custom services file system only',
      allowAllOutbound: false,
      allowAllIpv6Outbound: false,
    });

    const mount = ScopedEfsMount.rootOf(this.accessPoint, props.fileSystem);
    const fn = new KintoFunction(this, 'Lambda', {
      entry: handlerEntry('service-data'),
      description: "Kinto service data: names or deletes a deleted environment's custom services' folders on EFS",
      roleDescription: "Kinto service data: mounts /kinto of the custom services' file system (root) to name or delete folders",
      logRetention: props.logRetention,
      // Below the control API's 29 s, so that its answer says what failed.
      timeout: Duration.seconds(25),
      // Asked synchronously; a retried deletion would find nothing anyway.
      retryAttempts: 0,
      environment: { [SERVICE_DATA_ENV.fileSystemId]: props.fileSystem.fileSystemId },
      network: { vpc: props.vpc, vpcSubnets: props.subnets, securityGroups: [this.securityGroup], filesystem: mount },
    });
    this.function = fn.function;
    this.role = fn.role;
    // Lambda makes the function's network interfaces with its role (no managed policy: those allow logging anywhere).
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'NetworkInterfaces', actions: VPC_NETWORK_INTERFACE_ACTIONS, resources: ['*'] }));
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "A function in a VPC needs the network-interface actions (AWSLambdaVPCAccessExecutionRole's, without its logs), which have no resource-level permissions.",
    });
  }
}

/**
 * A Lambda mount of one access point, granted on the file system with that access point as a
 * condition (lambda.FileSystem.fromEfsAccessPoint grants ClientMount on `*`), with root access.
 */
class ScopedEfsMount extends lambda.FileSystem {
  static rootOf(accessPoint: efs.AccessPoint, fileSystem: efs.FileSystem): ScopedEfsMount {
    return new ScopedEfsMount({
      localMountPath: SERVICE_DATA_MOUNT,
      arn: accessPoint.accessPointArn,
      dependency: [fileSystem.mountTargetsAvailable],
      connections: fileSystem.connections,
      policies: [
        new iam.PolicyStatement({
          sid: 'MountKintoFolderAsRoot',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
          resources: [
            Stack.of(accessPoint).formatArn({
              service: 'elasticfilesystem',
              resource: 'file-system',
              resourceName: fileSystem.fileSystemId,
            }),
          ],
          conditions: { StringEquals: { 'elasticfilesystem:AccessPointArn': accessPoint.accessPointArn } },
        }),
      ],
    });
  }
}
