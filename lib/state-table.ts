import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { STATE_TABLE } from '../lambdas/adapters/dynamodb/state-table';
import { kintoTable, type KintoTableOptions } from './kinto-table';

export interface StateTableProps extends KintoTableOptions {
  /**
   * What happens to the table (and everything Kinto knows) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The state table: projects, blocks, environments, configuration, releases, deployments and
 * builds (key design in `lambdas/adapters/dynamodb/state-table.ts`, which the local platform creates
 * the same table from). On-demand capacity (nothing billed while idle), point-in-time recovery,
 * encrypted with the AWS managed key.
 */
export class StateTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    this.table = kintoTable(this, `StateTable ${id}`, STATE_TABLE, props);
    this.table.addGlobalSecondaryIndex({
      indexName: STATE_TABLE.byIdIndex.name,
      partitionKey: { name: STATE_TABLE.byIdIndex.partitionKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** The ARN of the `byId` index, for grants that need only that index. */
  get byIdIndexArn(): string {
    return `${this.table.tableArn}/index/${STATE_TABLE.byIdIndex.name}`;
  }
}
