import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LogStore } from '../../ports/log-store';
import { ensureLogsTable } from '../../adapters/dynamodb/create-logs-table';
import { DynamoDbLogStore } from '../../adapters/dynamodb/dynamodb-log-store';
import { dynamoDbClient } from '../dynalite-server';
import { FileLogStore } from '../../adapters/local/logs/file-log-store';
import { QueuedLogFeed } from '../../adapters/local/logs/queued-log-feed';
import type { LogClientApi, LogWorkerApi, LogWorkerData } from './log-worker-api';
import { ThreadRpc } from './thread-rpc';

/**
 * The log worker: the local log index (file store + in-memory index, or the logs table on
 * dynalite) and the feed that indexes into it, on their own thread and heap, so that indexing and
 * its garbage never stall the gateway. It serves its parent (the control plane: queries, follow
 * streams) and any port attached to it (the data plane's feed): `LogWorkerApi`.
 */

async function openStore(data: LogWorkerData): Promise<LogStore & { close(): Promise<void>; readsAccessRows?: boolean }> {
  if (data.store.kind === 'dynamodb') {
    const client = dynamoDbClient(data.store.address);
    await ensureLogsTable(client, data.store.tableName);
    const store = new DynamoDbLogStore({ client, tableName: data.store.tableName });
    return Object.assign(store, { close: async () => client.destroy() });
  }
  return FileLogStore.open({
    dir: data.store.dir,
    maxRecords: data.maxRecords,
    onEvict: (count, second) =>
      console.warn(
        JSON.stringify({
          level: 'warn',
          message: 'log entries evicted from memory: over KINTO_LOG_MAX_ENTRIES (still in .kinto/logs until they expire)',
          count,
          upTo: second,
        }),
      ),
  });
}

async function main(): Promise<void> {
  const data = workerData as LogWorkerData;
  const store = await openStore(data);
  const feed = new QueuedLogFeed({ store, retentionMs: data.retentionMs });

  /** One side's conversation: answers and followed lines go back where the asking came from. */
  function serve(port: MessagePort): void {
    const subscriptions = new Map<string, () => void>();
    const rpc: ThreadRpc<LogWorkerApi, LogClientApi> = new ThreadRpc<LogWorkerApi, LogClientApi>(port, {
      write: (batch) => store.write(batch),
      listRequests: (query) => store.listRequests(query),
      getRequest: (envId, requestId, now) => store.getRequest(envId, requestId, now),
      listInstanceLines: (query) => store.listInstanceLines(query),
      listMetrics: (envId, from, to, now) => store.listMetrics(envId, from, to, now),
      batch: (m) => {
        if (m.access) feed.ingestAccessLines(Buffer.from(m.access, 0, m.accessLength).toString('latin1'), m.accessCount);
        feed.ingest(m.items);
        for (const [envId, block, count] of m.shed) feed.recordShed(envId, block, count);
      },
      subscribe: (envId, block) => {
        const key = `${envId}\u0000${block}`;
        if (!subscriptions.has(key))
          subscriptions.set(
            key,
            feed.subscribe(envId, block, (lines) => void rpc.call('lines', envId, block, lines).catch(() => undefined)),
          );
      },
      unsubscribe: (envId, block) => {
        const key = `${envId}\u0000${block}`;
        subscriptions.get(key)?.();
        subscriptions.delete(key);
      },
      attach: (attached) => serve(attached),
      flush: () => feed.flush(),
      stats: () => feed.stats(),
      close: async () => {
        await feed.close();
        await store.close();
      },
    });
    void rpc.call('ready').catch(() => undefined);
  }

  serve(parentPort!);
}

void main().catch((e) => {
  console.error(JSON.stringify({ level: 'error', message: 'the log worker could not start', error: String((e as Error)?.stack ?? e) }));
  process.exit(1);
});
