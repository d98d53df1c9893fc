import { randomBytes } from 'node:crypto';
import { ensureLogsTable } from '../../lambdas/adapters/dynamodb/create-logs-table';
import { DynamoDbLogStore } from '../../lambdas/adapters/dynamodb/dynamodb-log-store';
import { startDynalite } from '../../lambdas/local/dynalite-server';
import { logStoreContract } from './log-store-contract';

// A file of its own: aws-sdk-client-mock (dynamodb-log-store.test.ts) patches the SDK client class.
logStoreContract('DynamoDB logs table (dynalite)', async () => {
  const dynamo = await startDynalite();
  const tableName = `kinto-logs-${randomBytes(4).toString('hex')}`;
  await ensureLogsTable(dynamo.client, tableName);
  return { store: new DynamoDbLogStore({ client: dynamo.client, tableName }), close: () => dynamo.close() };
});
