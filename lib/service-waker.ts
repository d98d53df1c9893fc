import { Aws, CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { SERVICE_SLEEP_ENV } from '../lambdas/handlers/services/service-sleep-env';
import { handlerEntry, KintoFunction } from './kinto-function';
import { allowInvokeFromKintoLogGroups } from './kinto-log-groups';

export interface ServiceWakerProps {
  /** The cluster custom services run in (BlockCluster). */
  readonly cluster: ecs.ICluster;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** ECS services of environments: `kinto-<12 characters of the environment id>-<block>` (`?` is one character). */
const SERVICES = 'kinto-????????????-*';

/**
 * Custom services sleep (desired count 0) until their environment is used, and go back to sleep
 * when it is not:
 * - the **waker** Lambda (`lambdas/handlers/service-waker.ts`) receives, through a second
 *   subscription filter on each function log group of an environment that has a custom service,
 *   the `START` line Lambda writes when an invocation begins; it sets the environment's sleeping
 *   services to desired count 1 (and records the time of the traffic on each, once a minute);
 * - the **reaper** Lambda (`lambdas/handlers/service-reaper.ts`) runs every minute for each awake
 *   service, on a schedule the waker makes in this construct's **schedule group**, and sets the
 *   service back to 0 once it has had no traffic for its idle time, then deletes its schedule.
 * While every service sleeps, nothing here runs: the idle cost is $0.
 */
export class ServiceWaker extends Construct {
  public readonly function: NodejsFunction;
  public readonly reaper: NodejsFunction;
  public readonly scheduleGroup: scheduler.CfnScheduleGroup;
  /** What EventBridge Scheduler invokes the reaper with. */
  public readonly schedulerRole: iam.Role;
  private readonly cluster: ecs.ICluster;
  /** The platform cluster's environment services, `kinto-<12>-<block>`. */
  private readonly servicesArn: string;
  /** The reaper schedules of this construct's group. */
  private readonly schedulesArn: string;

  constructor(scope: Construct, id: string, props: ServiceWakerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.cluster = props.cluster;
    const services = stack.formatArn({
      service: 'ecs',
      resource: 'service',
      resourceName: `${props.cluster.clusterName}/${SERVICES}`,
    });
    this.servicesArn = services;

    this.scheduleGroup = new scheduler.CfnScheduleGroup(this, 'ReaperSchedules', { name: `${Aws.STACK_NAME}-service-reapers` });
    // Schedules in the group: arn:...:scheduler:<region>:<account>:schedule/<group>/<name>.
    const schedulesArn = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.scheduleGroup.ref}/*` });
    this.schedulesArn = schedulesArn;

    const reaper = new KintoFunction(this, 'Reaper', {
      entry: handlerEntry('service-reaper'),
      description: 'Kinto service reaper: puts an idle custom service to sleep (desired count 0)',
      roleDescription: 'Kinto service reaper: custom services to desired count 0 when idle',
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
      // Its schedule runs it again a minute later: that is the retry.
      retryAttempts: 0,
      environment: { [SERVICE_SLEEP_ENV.clusterArn]: props.cluster.clusterArn, [SERVICE_SLEEP_ENV.scheduleGroup]: this.scheduleGroup.ref },
    });
    this.reaper = reaper.function;
    reaper.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnvironmentServices',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:TagResource'],
        resources: [services],
      }),
    );
    reaper.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'RemoveSchedules', actions: ['scheduler:DeleteSchedule'], resources: [schedulesArn] }),
    );

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Kinto: reaper schedules invoke the service reaper',
      // Only schedules of this account may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    });
    this.schedulerRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.reaper.functionArn] }));

    const waker = new KintoFunction(this, 'Waker', {
      entry: handlerEntry('service-waker'),
      description: "Kinto service waker: wakes an environment's custom services when its functions are invoked",
      roleDescription: "Kinto service waker: custom services to desired count 1 on their environment's traffic",
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
      environment: { [SERVICE_SLEEP_ENV.clusterArn]: props.cluster.clusterArn, ...this.wakingEnvironment() },
    });
    this.function = waker.function;
    this.grantWaking(waker.role);

    allowInvokeFromKintoLogGroups(this.function);
    this.acknowledgeServiceWildcards(reaper.role);
  }

  /**
   * What waking an environment's services takes, and nothing more: list the platform cluster's
   * services, describe, scale and tag only environment services, make reaper schedules in this
   * construct's group, and pass only the reaper's scheduler role, to Scheduler only. The waker has
   * it, and the deployer (a deployment wakes services before its jobs) gets the same.
   */
  public grantWaking(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListClusterServices',
        actions: ['ecs:ListServices'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnvironmentServices',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:TagResource'],
        resources: [this.servicesArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'MakeSchedules', actions: ['scheduler:CreateSchedule'], resources: [this.schedulesArn] }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassSchedulerRole',
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    this.acknowledgeServiceWildcards(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecs:ListServices has no resource-level permission: the grant is conditioned on the platform cluster (ecs:cluster), and the list is filtered by the environment name prefix.',
    });
  }

  /** What whoever wakes services must know (the variables `SERVICE_SLEEP_ENV` names), besides the cluster. */
  public wakingEnvironment(): Record<string, string> {
    return {
      [SERVICE_SLEEP_ENV.reaperFunctionArn]: this.reaper.functionArn,
      [SERVICE_SLEEP_ENV.reaperRoleArn]: this.schedulerRole.roleArn,
      [SERVICE_SLEEP_ENV.scheduleGroup]: this.scheduleGroup.ref,
    };
  }

  /** Wildcards that are the design, acknowledged on the role with why (the findings name the exact resources). */
  private acknowledgeServiceWildcards(role: iam.Role): void {
    const stack = Stack.of(this);
    const clusterId = stack.getLogicalId(this.cluster.node.defaultChild as CfnElement);
    const groupId = stack.getLogicalId(this.scheduleGroup);
    const at = (service: string, resource: string) => `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
    const services = `AwsSolutions-IAM5[Resource::${at('ecs', `service/<${clusterId}>/${SERVICES}`)}]`;
    const schedules = `AwsSolutions-IAM5[Resource::${at('scheduler', `schedule/<${groupId}>/*`)}]`;
    const reason =
      'Environment stacks make their ECS services at run time, named kinto-<12 characters of the environment id>-<block> (? is exactly one character) in the platform cluster; ' +
      'the waker (and the deployer, before jobs) makes one reaper schedule per awake service at run time, in the schedule group of this construct and no other.';
    for (const id of [services, schedules]) Validations.of(role).acknowledge({ id, reason });
  }
}
