import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import type { LogStore } from '../../ports/log-store';
import type { LocalDynamoDb } from '../dynalite-server';
import type { LocalLogSettings } from '../../adapters/local/logs/queued-log-feed';
import type { LogFeed } from '../../adapters/local/logs/log-feed';
import { startLogWorker } from './log-worker-client';

export const LOCAL_LOGS_TABLE_NAME = 'kinto-logs';

export interface LocalLogs {
  readonly store?: LogStore;
  readonly feed?: LogFeed;
  /** A port on which the data plane feeds the index (`connectLogFeed`); absent with logs off. */
  attach?(): MessagePort;
  close(): Promise<void>;
}

/**
 * The local platform's log index and the feed that fills it, in a worker thread (log-worker.ts),
 * so that indexing and its heap never cost the gateway: by default the file store (files + an
 * in-memory index); `KINTO_LOG_STORE=dynamodb` uses the logs table on dynalite instead (the AWS
 * adapter, for trying it locally; slower); `off` indexes nothing.
 */
export async function openLocalLogs(settings: LocalLogSettings, home: string, dynamo: LocalDynamoDb): Promise<LocalLogs> {
  if (settings.store === 'off') return { close: async () => undefined };
  const worker = await startLogWorker({
    store:
      settings.store === 'dynamodb'
        ? { kind: 'dynamodb', address: dynamo.address, tableName: LOCAL_LOGS_TABLE_NAME }
        : { kind: 'files', dir: join(home, 'logs') },
    maxRecords: settings.maxRecords,
    retentionMs: settings.retentionMs,
  });
  return { store: worker.store, feed: worker.feed, attach: () => worker.attach(), close: () => worker.close() };
}
