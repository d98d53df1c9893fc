import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbLogStore, LogWriteError } from '../../lambdas/adapters/dynamodb/dynamodb-log-store';
import { LogBatchBuilder } from '../../lambdas/core/logs/index-log-events';

describe('Class: DynamoDbLogStore', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const source = { kind: 'block' as const, envId: 'e1', block: 'api' };

  /** 60 plain lines -> 60 items -> batches of 25, 25, 10. */
  const sixtyLines = () => {
    const b = new LogBatchBuilder({ batch: 'b1' });
    for (let i = 0; i < 60; i++)
      b.addBlockLine(source, { time: 1_750_000_000_000 + i, seq: String(i).padStart(3, '0'), text: `line ${i}`, stream: 'stdout' });
    return b.build();
  };

  beforeEach(() => {
    ddb.reset();
    ddb.on(UpdateCommand).resolves({});
  });

  describe('Method: write', () => {
    it('writes in BatchWriteItem batches of at most 25', async () => {
      ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
      await new DynamoDbLogStore({ client, tableName: 'logs' }).write(sixtyLines());
      const calls = ddb.commandCalls(BatchWriteCommand);
      expect(calls.map((c) => c.args[0].input.RequestItems!.logs.length)).toEqual([25, 25, 10]);
      const first = calls[0].args[0].input.RequestItems!.logs[0].PutRequest!.Item!;
      expect(first).toMatchObject({
        pk: 'LOG#e1#api',
        sk: '2025-06-15T15:06:40.000Z#000',
        text: 'line 0',
        expiresAt: 1_750_000_000 + 2 * 24 * 3600,
      });
    });

    it('retries UnprocessedItems with backoff until they are taken', async () => {
      const sleeps: number[] = [];
      ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
        const requests = input.RequestItems.logs;
        // Each full batch of 25 comes back once with its last 5 requests unprocessed.
        return { UnprocessedItems: requests.length === 25 ? { logs: requests.slice(-5) } : {} };
      });
      const store = new DynamoDbLogStore({ client, tableName: 'logs', concurrency: 1, sleep: async (ms) => void sleeps.push(ms) });
      await store.write(sixtyLines());
      const sizes = ddb.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems!.logs.length);
      expect(sizes).toEqual([25, 5, 25, 5, 10]);
      expect(sleeps).toHaveLength(2);
      expect(sleeps.every((ms) => ms >= 0 && ms <= 50)).toBe(true);
    });

    it('fails the write when a batch stays unprocessed, so the invocation is retried', async () => {
      ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({
        UnprocessedItems: { logs: input.RequestItems.logs.slice(0, 1) },
      }));
      const store = new DynamoDbLogStore({ client, tableName: 'logs', maxAttempts: 3, sleep: async () => undefined });
      await expect(store.write(sixtyLines())).rejects.toThrow(LogWriteError);
      await expect(store.write(sixtyLines())).rejects.toThrow(/still unprocessed after 3 BatchWriteItem attempts/);
    });

    it('sends one key once per call even when a batch repeats a record', async () => {
      ddb.on(BatchWriteCommand).resolves({});
      const b = new LogBatchBuilder({ batch: 'b1' });
      b.addBlockLine(source, { time: 1_750_000_000_000, seq: '1', text: 'first', stream: 'stdout' });
      b.addBlockLine(source, { time: 1_750_000_000_000, seq: '1', text: 'again', stream: 'stdout' });
      await new DynamoDbLogStore({ client, tableName: 'logs' }).write(b.build());
      const items = ddb.commandCalls(BatchWriteCommand)[0].args[0].input.RequestItems!.logs;
      expect(items).toHaveLength(1);
      expect(items[0].PutRequest!.Item!.text).toBe('again');
    });

    it('adds metrics with ADD, guarded by the batches already applied', async () => {
      ddb.on(BatchWriteCommand).resolves({});
      const b = new LogBatchBuilder({ batch: 'batch-7' });
      b.addAccess({ envId: 'e1', requestId: 'r1', time: 1_750_000_000_000, method: 'GET', path: '/api/x', status: 503, durationMs: 12 });
      await new DynamoDbLogStore({ client, tableName: 'logs' }).write(b.build());
      const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
      expect(update.Key).toEqual({ pk: 'MET#e1', sk: '2025-06-15T15:06#api' });
      expect(update.ConditionExpression).toBe('attribute_not_exists(#applied) OR NOT contains(#applied, :batch)');
      expect(update.UpdateExpression).toMatch(
        /ADD #applied :applied, #requests :requests, #errors5xx :errors5xx, #durationSumMs :durationSumMs, #h\d+ :h\d+$/,
      );
      expect(update.ExpressionAttributeValues).toMatchObject({
        ':batch': 'batch-7',
        ':requests': 1,
        ':errors5xx': 1,
        ':durationSumMs': 12,
      });
    });
  });
});
