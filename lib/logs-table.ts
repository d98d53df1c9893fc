import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LOGS_TABLE } from '../lambdas/adapters/dynamodb/logs-table';
import { kintoTable, type KintoTableOptions } from './kinto-table';

export interface LogsTableProps extends KintoTableOptions {
  /**
   * What happens to the table when the stack is deleted. Entries expire on their own (TTL), so
   * `DESTROY` is reasonable for a test installation.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Point-in-time recovery (continuous backups, 35 days). Billed per GB stored; logs are short-lived.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

/**
 * The logs table: gateway access entries, console lines by `kinto_request_id`, blocks' instance
 * logs and per-minute metrics, written by the `log-indexer` Lambda and read by the control API.
 * Keys and access patterns are in `lambdas/adapters/dynamodb/logs-table.ts` (the local platform and
 * the tests create the same table from it). On-demand capacity (nothing billed while idle),
 * encrypted with the AWS managed key, TTL on `expiresAt` (reads also filter expired entries:
 * DynamoDB deletes them up to days late).
 */
export class LogsTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: LogsTableProps = {}) {
    super(scope, id);
    this.table = kintoTable(this, `LogsTable ${id}`, { ...LOGS_TABLE, pointInTimeRecovery: props.pointInTimeRecovery }, props);
    for (const index of [LOGS_TABLE.byEnvIndex, LOGS_TABLE.byBlockIndex]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }

  /**
   * Lets the control API read logs and metrics: Query on the table and its two indexes, nothing
   * else (named indexes, not `index/*`).
   */
  grantReadLogs(grantee: iam.IGrantable): iam.Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [
        this.table.tableArn,
        ...[LOGS_TABLE.byEnvIndex.name, LOGS_TABLE.byBlockIndex.name].map((name) => `${this.table.tableArn}/index/${name}`),
      ],
    });
  }
}
