import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LogStore } from '../../ports/log-store';
import { ensureLogsTable } from '../aws/create-logs-table';
import { DynamoDbLogStore } from '../aws/dynamodb-log-store';
import { dynamoDbClient, type DynaliteAddress } from './dynalite-server';
import { FileLogStore } from './file-log-store';
import { LocalLogFeed, type FeedItem } from './local-log-feed';
import { serializeError, type SerializedError } from './thread-rpc';

/**
 * The log worker: the local log index (file store + in-memory index, or the logs table on
 * dynalite) and the feed that indexes into it, on their own thread and heap, so that indexing and
 * its garbage never stall the gateway. It serves its parent (the control plane: queries, follow
 * streams) and any port attached to it (the data plane's feed): messages in log-worker-client.ts.
 */

export interface LogWorkerData {
  /** `dir`: the file store's folder; `dynamodb`: the logs table on the platform's dynalite. */
  readonly store: { readonly kind: 'files'; readonly dir: string } | { readonly kind: 'dynamodb'; readonly address: DynaliteAddress; readonly tableName: string };
  readonly maxRecords: number;
  readonly retentionMs: number;
}

export type ToWorker =
  | {
      readonly t: 'batch';
      /** `accessCount` access entries as access lines (core/logs/access-row.ts), `accessLength` Latin-1 bytes. */
      readonly access: ArrayBuffer | undefined;
      readonly accessLength: number;
      readonly accessCount: number;
      readonly items: readonly FeedItem[];
      readonly shed: readonly (readonly [string, string | undefined, number])[];
    }
  | { readonly t: 'call'; readonly id: number; readonly method: keyof LogStore | 'flush' | 'close' | 'stats'; readonly args: readonly unknown[] }
  | { readonly t: 'subscribe' | 'unsubscribe'; readonly envId: string; readonly block: string }
  /** Serve this port too (the data plane's feed); it gets its own `ready`. */
  | { readonly t: 'attach'; readonly port: MessagePort };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'ack'; readonly n: number }
  | { readonly t: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: SerializedError }
  | { readonly t: 'lines'; readonly envId: string; readonly block: string; readonly lines: readonly unknown[] };

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
      console.warn(JSON.stringify({ level: 'warn', message: 'log entries evicted from memory: over KINTO_LOG_MAX_ENTRIES (still in .kinto/logs until they expire)', count, upTo: second })),
  });
}

async function main(): Promise<void> {
  const data = workerData as LogWorkerData;
  const store = await openStore(data);
  const feed = new LocalLogFeed({ store, retentionMs: data.retentionMs });

  /** One port's conversation: replies, acks and followed lines go back where the asking came from. */
  function serve(port: MessagePort | NonNullable<typeof parentPort>): void {
    const post = (m: FromWorker) => port.postMessage(m);
    const subscriptions = new Map<string, () => void>();
    port.on('message', (m: ToWorker) => {
      switch (m.t) {
        case 'batch': {
          if (m.access) feed.ingestAccessLines(Buffer.from(m.access, 0, m.accessLength).toString('latin1'), m.accessCount);
          feed.ingest(m.items);
          for (const [envId, block, count] of m.shed) feed.recordShed(envId, block, count);
          post({ t: 'ack', n: m.items.length + m.accessCount });
          return;
        }
        case 'subscribe': {
          const key = `${m.envId}\u0000${m.block}`;
          if (!subscriptions.has(key)) subscriptions.set(key, feed.subscribe(m.envId, m.block, (lines) => post({ t: 'lines', envId: m.envId, block: m.block, lines })));
          return;
        }
        case 'unsubscribe': {
          const key = `${m.envId}\u0000${m.block}`;
          subscriptions.get(key)?.();
          subscriptions.delete(key);
          return;
        }
        case 'attach':
          serve(m.port);
          return;
        case 'call':
          void answer(post, m.id, m.method, m.args);
          return;
      }
    });
    post({ t: 'ready' });
  }

  async function answer(post: (m: FromWorker) => void, id: number, method: string, args: readonly unknown[]): Promise<void> {
    try {
      let value: unknown;
      if (method === 'flush') value = await feed.flush();
      else if (method === 'stats') value = await feed.stats();
      else if (method === 'close') {
        await feed.close();
        value = await store.close();
      } else value = await (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args);
      post({ t: 'reply', id, value });
    } catch (e) {
      post({ t: 'reply', id, error: serializeError(e) });
    }
  }

  serve(parentPort!);
}

void main().catch((e) => {
  console.error(JSON.stringify({ level: 'error', message: 'the log worker could not start', error: String((e as Error)?.stack ?? e) }));
  process.exit(1);
});
