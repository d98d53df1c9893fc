import { parentPort, workerData } from 'node:worker_threads';
import type { LogStore } from '../../ports/log-store';
import { FileLogStore } from './file-log-store';
import { LocalLogFeed, type FeedItem } from './local-log-feed';

/**
 * The log worker: the local log index (file store + in-memory index) and the feed that indexes
 * into it, on their own thread and heap, so that indexing and its garbage never stall the
 * gateway. Messages: see log-worker-client.ts.
 */

export interface LogWorkerData {
  readonly dir: string;
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
  | { readonly t: 'subscribe' | 'unsubscribe'; readonly envId: string; readonly block: string };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'ack'; readonly n: number }
  | { readonly t: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: SerializedError }
  | { readonly t: 'lines'; readonly envId: string; readonly block: string; readonly lines: readonly unknown[] };

export interface SerializedError {
  readonly message: string;
  readonly status?: number;
  readonly code?: string;
}

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as LogWorkerData;
  const post = (m: FromWorker) => port.postMessage(m);
  const store = await FileLogStore.open({
    dir: data.dir,
    maxRecords: data.maxRecords,
    onEvict: (count, second) =>
      console.warn(JSON.stringify({ level: 'warn', message: 'log entries evicted from memory: over KINTO_LOG_MAX_ENTRIES (still in .kinto/logs until they expire)', count, upTo: second })),
  });
  const feed = new LocalLogFeed({ store, retentionMs: data.retentionMs });
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
      case 'call':
        void answer(m.id, m.method, m.args);
        return;
    }
  });

  async function answer(id: number, method: string, args: readonly unknown[]): Promise<void> {
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
      const err = e as { message?: string; status?: number; code?: string };
      post({ t: 'reply', id, error: { message: err.message ?? String(e), status: err.status, code: err.code } });
    }
  }

  post({ t: 'ready' });
}

void main().catch((e) => {
  console.error(JSON.stringify({ level: 'error', message: 'the log worker could not start', error: String((e as Error)?.stack ?? e) }));
  process.exit(1);
});
