import type { MessagePort } from 'node:worker_threads';
import type { InstanceLineRecord } from '../../core/logs/log-records';
import type { LogStore } from '../../ports/log-store';
import type { LogFeedStats } from '../../adapters/local/logs/log-feed';
import type { FeedItem } from '../../adapters/local/logs/queued-log-feed';
import type { DynaliteAddress } from '../dynalite-server';

export interface LogWorkerData {
  /** `dir`: the file store's folder; `dynamodb`: the logs table on the platform's dynalite. */
  readonly store:
    | { readonly kind: 'files'; readonly dir: string }
    | { readonly kind: 'dynamodb'; readonly address: DynaliteAddress; readonly tableName: string };
  readonly maxRecords: number;
  readonly retentionMs: number;
}

/** What the hooks of one thread gathered since the last post. */
export interface FeedBatch {
  /** `accessCount` access entries as access lines (access-row.ts), `accessLength` Latin-1 bytes. */
  readonly access: ArrayBuffer | undefined;
  readonly accessLength: number;
  readonly accessCount: number;
  readonly items: readonly FeedItem[];
  /** Entries shed before posting: [envId, block, count]. */
  readonly shed: readonly (readonly [string, string | undefined, number])[];
}

/** What the log worker serves, to its parent and to every port attached to it: the store's queries, and the feed. */
export interface LogWorkerApi extends LogStore {
  /** Queues a batch for indexing; answered once it is queued (the sender counts it taken then). */
  batch(batch: FeedBatch): void;
  /** New instance lines of a block go to this side's `lines` until `unsubscribe`. */
  subscribe(envId: string, block: string): void;
  unsubscribe(envId: string, block: string): void;
  /** Serve this port too (the data plane's feed). */
  attach(port: MessagePort): void;
  flush(): Promise<void>;
  stats(): Promise<LogFeedStats>;
  /** Stops indexing and closes the store (the worker's owner only). */
  close(): Promise<void>;
}

/** What each side of the log worker serves to it. */
export interface LogClientApi {
  /** The worker serves this side now. */
  ready(): void;
  lines(envId: string, block: string, lines: readonly InstanceLineRecord[]): void;
}
