import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from './ensure-table';
import { LOGS_TABLE } from './logs-table';

/**
 * Creates the logs table if it is missing (tests, and a local platform configured to keep its
 * logs in dynalite; on AWS the CDK construct owns it). Resolves once the table is ACTIVE. TTL is
 * not switched on here: dynalite has no UpdateTimeToLive, and reads filter expired items anyway.
 */
export async function ensureLogsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, byEnvIndex, byBlockIndex } = LOGS_TABLE;
  await ensureTable(client, {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      partitionKey,
      sortKey,
      byEnvIndex.partitionKey,
      byEnvIndex.sortKey,
      byBlockIndex.partitionKey,
      byBlockIndex.sortKey,
    ].map((name) => ({
      AttributeName: name,
      AttributeType: 'S',
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [byEnvIndex, byBlockIndex].map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  });
}
