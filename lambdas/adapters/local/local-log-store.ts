import { join } from 'node:path';
import type { LogStore } from '../../ports/log-store';
import { ensureLogsTable } from '../aws/create-logs-table';
import { DynamoDbLogStore } from '../aws/dynamodb-log-store';
import type { LocalDynamoDb } from './dynalite-server';
import { LocalLogFeed, type LocalLogSettings } from './local-log-feed';
import type { LogFeed } from './log-feed';
import { startLogWorker } from './log-worker-client';

export const LOCAL_LOGS_TABLE_NAME = 'kinto-logs';

/**
 * The local platform's log index and the feed that fills it. By default the file store, run with
 * its feed in a worker thread (log-worker.ts): dynalite takes ~3,000 log records/s at best and
 * spends the gateway's CPU doing it (bench/README.md, "Local feed"), and even the file store's
 * indexing and heap cost the gateway ~20% of its throughput on the main thread.
 * `KINTO_LOG_STORE=dynamodb` uses the logs table on dynalite instead (the AWS adapter, for trying
 * it locally), in-process; `off` indexes nothing.
 */
export async function openLocalLogs(settings: LocalLogSettings, home: string, dynamo: LocalDynamoDb): Promise<{ store?: LogStore; feed?: LogFeed; close(): Promise<void> }> {
  if (settings.store === 'off') return { close: async () => undefined };
  if (settings.store === 'dynamodb') {
    await ensureLogsTable(dynamo.client, LOCAL_LOGS_TABLE_NAME);
    const store = new DynamoDbLogStore({ client: dynamo.client, tableName: LOCAL_LOGS_TABLE_NAME });
    const feed = new LocalLogFeed({ store, retentionMs: settings.retentionMs });
    return { store, feed, close: () => feed.close() };
  }
  const worker = await startLogWorker({ dir: join(home, 'logs'), maxRecords: settings.maxRecords, retentionMs: settings.retentionMs });
  return { store: worker.store, feed: worker.feed, close: () => worker.close() };
}
