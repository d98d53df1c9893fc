import { randomBytes } from 'node:crypto';
import { ensureStateTable } from '../../lambdas/adapters/dynamodb/create-state-table';
import { DynamoDbStore } from '../../lambdas/adapters/dynamodb/dynamodb-store';
import { startDynalite, type LocalDynamoDb } from '../../lambdas/local/dynalite-server';

/** A real DynamoDB API (dynalite, in memory) with a fresh state table: no in-memory stand-in. */
export async function startTestStore(): Promise<{
  store: DynamoDbStore;
  dynamo: LocalDynamoDb;
  tableName: string;
  close(): Promise<void>;
}> {
  const dynamo = await startDynalite();
  const tableName = `kinto-test-${randomBytes(4).toString('hex')}`;
  await ensureStateTable(dynamo.client, tableName);
  return { store: new DynamoDbStore({ client: dynamo.client, tableName }), dynamo, tableName, close: () => dynamo.close() };
}
