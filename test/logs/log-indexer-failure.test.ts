import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbLogStore } from '../../lambdas/adapters/dynamodb/dynamodb-log-store';
import { blockLogGroupName } from '../../lambdas/core/logs/log-groups';
import { createLogIndexer } from '../../lambdas/handlers/log-indexer';
import { dataMessage, subscriptionEvent } from './subscription-payload';

describe('Handler: log-indexer when the logs table keeps refusing', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());

  it('fails the invocation (CloudWatch retries it) and emits no metrics for the lost batch', async () => {
    ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({ UnprocessedItems: input.RequestItems }));
    ddb.on(UpdateCommand).resolves({});
    const out: string[] = [];
    const store = new DynamoDbLogStore({
      client: new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      tableName: 'logs',
      maxAttempts: 4,
      sleep: async () => undefined,
    });
    const index = createLogIndexer({ store, write: (l) => out.push(l) });
    await expect(
      index(subscriptionEvent(dataMessage(blockLogGroupName('e1', 'api'), ['{"kinto_request_id":"r","m":1}', 'plain']))),
    ).rejects.toThrow(/still unprocessed after 4/);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(4);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(out).toEqual([]);
  });
});
