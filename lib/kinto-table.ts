import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

/** What a Kinto table lets its user choose (the StateTable and LogsTable props build on it). */
export interface KintoTableOptions {
  /**
   * Refuse `DeleteTable` (console, CLI, or a CloudFormation replacement) until it is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The keys of one of Kinto's tables, from its key design beside the store. */
export interface KintoTableKeys {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly timeToLiveAttribute?: string;
  /** @default true */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * The `Table` of one of Kinto's table constructs (`scope`, named `owner` in errors), as Kinto keeps
 * every table: string keys, on-demand capacity (nothing billed while idle), encrypted with the AWS
 * managed key, point-in-time recovery, deletion protection and `RETAIN` unless told otherwise.
 */
export function kintoTable(scope: Construct, owner: string, keys: KintoTableKeys, options: KintoTableOptions): dynamodb.Table {
  const removalPolicy = options.removalPolicy ?? RemovalPolicy.RETAIN;
  if (removalPolicy === RemovalPolicy.SNAPSHOT) {
    throw new Error(`${owner}: DynamoDB tables cannot be snapshotted on delete; use RemovalPolicy.RETAIN or DESTROY.`);
  }
  return new dynamodb.Table(scope, 'Table', {
    partitionKey: { name: keys.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: keys.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: keys.pointInTimeRecovery ?? true },
    timeToLiveAttribute: keys.timeToLiveAttribute,
    deletionProtection: options.deletionProtection ?? true,
    removalPolicy,
  });
}
