import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { handlerEntry, KintoFunction } from './kinto-function';
import { allowInvokeFromKintoLogGroups } from './kinto-log-groups';
import { LOG_GROUP_PREFIX } from '../lambdas/core/logs/log-groups';
import { DEFAULT_METRICS_NAMESPACE, LOG_INDEXER_ENV } from '../lambdas/handlers/logs/log-indexer-env';

export interface LogIndexerProps {
  /** The logs table (see `LogsTable`): the function may only BatchWriteItem and UpdateItem on it. */
  readonly logsTable: dynamodb.ITable;
  /**
   * How long entries are kept (the table's TTL). Whole hours, 1 hour to 366 days.
   * @default Duration.days(2)
   */
  readonly retention?: Duration;
  /**
   * CloudWatch namespace of the embedded-metric-format lines (the environments' dashboards read it).
   * @default 'Kinto'
   */
  readonly metricsNamespace?: string;
  /** More memory is more CPU: a 1 MB batch parses faster. @default 512 */
  readonly memorySize?: number;
  /** A batch is at most ~1 MB: seconds at worst, with backoff on throttling. @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** Retention of the indexer's own log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** The indexer's own logs are diagnostics, not data. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Where batches go that still failed after Lambda's two retries of the asynchronous invocation
   * (the logs table throttled throughout): an encrypted SQS queue keeps them 14 days, to re-invoke.
   * @default - a queue is created
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/** What the deployer passes to `PutSubscriptionFilter` for the log groups it creates with the SDK. */
export interface SubscriptionSettings {
  readonly destinationArn: string;
  readonly filterName: string;
  /** Every event: the indexer decides what it can use. */
  readonly filterPattern: string;
}

/**
 * The `log-indexer` Lambda (`lambdas/handlers/log-indexer.ts`): CloudWatch Logs subscription
 * batches from environments' gateway access logs and blocks' log groups in, the logs table and
 * embedded-metric lines out. Bundled with the local esbuild (never Docker), Node.js 24 on arm64 (see kinto-function.ts),
 * its own log group with retention, and a role that may write that log group and BatchWriteItem /
 * UpdateItem on the logs table, nothing else.
 *
 * Log groups defined in CDK are subscribed with `subscribe()`. Environments' log groups are
 * created by the deployer at run time (`/kinto/env/<envId>/...`): the function already lets
 * CloudWatch Logs of this account and region invoke it for those, and `subscriptionSettings`
 * holds what `PutSubscriptionFilter` needs (`grantSubscribe()` gives the deployer that right).
 */
export class LogIndexer extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly deadLetterQueue: sqs.IQueue;
  public readonly subscriptionSettings: SubscriptionSettings;

  constructor(scope: Construct, id: string, props: LogIndexerProps) {
    super(scope, id);
    const retention = props.retention ?? Duration.days(2);
    const retentionHours = retention.toHours({ integral: false });
    if (!Token.isUnresolved(retentionHours) && (!Number.isInteger(retentionHours) || retentionHours < 1 || retentionHours > 366 * 24)) {
      throw new Error(`LogIndexer ${id}: retention must be whole hours from 1 hour to 366 days, got ${retentionHours} hours.`);
    }
    const memorySize = props.memorySize ?? 512;
    const namespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) {
      throw new Error(
        `LogIndexer ${id}: metricsNamespace must be 1 to 255 letters, digits or . - _ / # : and not start with "AWS/", got ${JSON.stringify(namespace)}.`,
      );
    }

    this.deadLetterQueue =
      props.deadLetterQueue ??
      new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });

    const fn = new KintoFunction(this, 'Lambda', {
      entry: handlerEntry('log-indexer'),
      description: 'Kinto log indexer: indexes gateway access logs and block output by kinto_request_id',
      roleDescription: 'Kinto log indexer: CloudWatch Logs subscriptions -> logs table',
      memorySize,
      timeout: props.timeout ?? Duration.seconds(60),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        [LOG_INDEXER_ENV.tableName]: props.logsTable.tableName,
        [LOG_INDEXER_ENV.retentionHours]: String(retentionHours),
        [LOG_INDEXER_ENV.metricsNamespace]: namespace,
      },
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
    // The table only: `table.grant()` would add its indexes, where writes mean nothing.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'], resources: [props.logsTable.tableArn] }),
    );

    allowInvokeFromKintoLogGroups(this.function);
    this.subscriptionSettings = { destinationArn: this.function.functionArn, filterName: 'kinto-log-indexer', filterPattern: '' };
  }

  /**
   * Sends every event of `logGroup` to the indexer: a subscription filter and the permission for
   * CloudWatch Logs to invoke the function for that group. The group must be named like a Kinto
   * group (`/kinto/env/<envId>/gateway` or `/kinto/env/<envId>/block/<block>`, see log-groups.ts),
   * or the indexer ignores its lines.
   */
  subscribe(id: string, logGroup: logs.ILogGroup): logs.SubscriptionFilter {
    if (logGroup === this.logGroup) {
      throw new Error(`LogIndexer ${this.node.id}: subscribing the indexer to its own log group would feed it its own output forever.`);
    }
    return new logs.SubscriptionFilter(this, id, {
      logGroup,
      destination: new LambdaDestination(this.function),
      filterPattern: logs.FilterPattern.allEvents(),
      filterName: this.subscriptionSettings.filterName,
    });
  }

  /**
   * Lets the deployer subscribe the log groups it creates (`/kinto/env/*`) to this indexer. The
   * wildcard is the point (groups exist only at run time); its cdk-nag finding is acknowledged on
   * the grantee, with that reason.
   */
  grantSubscribe(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['logs:PutSubscriptionFilter', 'logs:DeleteSubscriptionFilter'],
      resourceArns: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: `${LOG_GROUP_PREFIX}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
    const principal = grantee.grantPrincipal;
    if (Construct.isConstruct(principal)) {
      const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
      const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:${region}:${account}:log-group:${LOG_GROUP_PREFIX}*]`,
        reason: `Environments' log groups are created at run time by the deployer, all under ${LOG_GROUP_PREFIX}; the grant is limited to that prefix and to subscription filters.`,
      });
    }
    return grant;
  }
}
