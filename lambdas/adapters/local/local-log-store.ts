import { join } from 'node:path';
import type { LogStore } from '../../ports/log-store';
import { ensureLogsTable } from '../aws/create-logs-table';
import { DynamoDbLogStore } from '../aws/dynamodb-log-store';
import type { LocalDynamoDb } from './dynalite-server';
import { FileLogStore } from './file-log-store';
import type { LocalLogSettings } from './local-log-feed';

export const LOCAL_LOGS_TABLE_NAME = 'kinto-logs';

/**
 * The local platform's log index. By default the file store: dynalite takes ~3,000 log records/s
 * at best and spends the gateway's CPU doing it (bench/README.md, "Local feed"), so logs would be
 * shed under load. `KINTO_LOG_STORE=dynamodb` uses the logs table on dynalite instead (the AWS
 * adapter, for trying it locally); `off` indexes nothing.
 */
export async function openLocalLogStore(settings: LocalLogSettings, home: string, dynamo: LocalDynamoDb): Promise<{ store?: LogStore; close(): Promise<void> }> {
  if (settings.store === 'off') return { close: async () => undefined };
  if (settings.store === 'dynamodb') {
    await ensureLogsTable(dynamo.client, LOCAL_LOGS_TABLE_NAME);
    return { store: new DynamoDbLogStore({ client: dynamo.client, tableName: LOCAL_LOGS_TABLE_NAME }), close: async () => undefined };
  }
  const store = await FileLogStore.open({
    dir: join(home, 'logs'),
    maxRecords: settings.maxRecords,
    onEvict: (count, second) => console.warn(JSON.stringify({ level: 'warn', message: 'log entries evicted from memory: over KINTO_LOG_MAX_ENTRIES (still in .kinto/logs until they expire)', count, upTo: second })),
  });
  return { store, close: () => store.close() };
}
