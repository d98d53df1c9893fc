import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from './ensure-table';
import { STATE_TABLE } from './state-table';

/**
 * Creates the state table if it is missing (local platform and tests; on AWS the CDK stack owns
 * the table). Resolves once the table is ACTIVE.
 */
export async function ensureStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await ensureTable(client, {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: STATE_TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: STATE_TABLE.byIdIndex.partitionKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: STATE_TABLE.byIdIndex.name,
        KeySchema: [{ AttributeName: STATE_TABLE.byIdIndex.partitionKey, KeyType: 'HASH' }],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  });
}
