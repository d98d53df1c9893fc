import type { AccessRecord, ConsoleLineRecord, IndexedBatch, InstanceLineRecord, MetricPartial } from '../core/logs/log-records';

/** A position in a time-ordered listing: the time and the key of the last item returned. */
export interface LogCursor {
  readonly time: string;
  /** The request id (requests) or line seq (instance lines). */
  readonly key: string;
}

export interface RequestQuery {
  readonly envId: string;
  readonly limit: number;
  readonly block?: string;
  /** Inclusive status range, e.g. 500..599. */
  readonly status?: { readonly min: number; readonly max: number };
  /** Only requests strictly older than this position. */
  readonly before?: LogCursor;
  /** Epoch seconds: entries with `expiresAt` at or before it are never returned. */
  readonly now: number;
}

export interface InstanceLineQuery {
  readonly envId: string;
  readonly block: string;
  readonly limit: number;
  /** `newest`: newest first (tail, paging back with `before`); `oldest`: oldest first (`after`, for polling). */
  readonly order: 'newest' | 'oldest';
  /** Inclusive ISO time range. */
  readonly from?: string;
  readonly to?: string;
  readonly before?: LogCursor;
  readonly after?: LogCursor;
  /** Case-insensitive text the line must contain (already lower-cased). */
  readonly search?: string;
  readonly now: number;
}

/** Metrics of one block in one minute: every partial added up. */
export type MetricAggregate = Omit<MetricPartial, 'batch'>;

export interface LogPage<T> {
  readonly items: T[];
  /** Where to continue, when the listing stopped before its end (limit, or scan budget). */
  readonly next?: LogCursor;
}

/**
 * Where the log index lives: the logs table on DynamoDB (AWS), or the local platform's log
 * files. Both run one contract test suite (test/logs/log-store-contract.ts).
 */
export interface LogStore {
  /**
   * Writes a batch. Idempotent: writing the same batch again leaves the same state (records have
   * stable keys; metric partials carry their batch id). Resolves only when everything is stored.
   * @throws when part of the batch could not be stored after retries (the caller retries it all).
   */
  write(batch: IndexedBatch): Promise<void>;
  /** An environment's requests, newest first. */
  listRequests(query: RequestQuery): Promise<LogPage<AccessRecord>>;
  /** A request's access entry (if it arrived) and its console lines in order. */
  getRequest(envId: string, requestId: string, now: number): Promise<{ access?: AccessRecord; lines: ConsoleLineRecord[] }>;
  /** A block's plain instance log. */
  listInstanceLines(query: InstanceLineQuery): Promise<LogPage<InstanceLineRecord>>;
  /** Metrics per block per minute, `fromMinute`..`toMinute` inclusive (`YYYY-MM-DDTHH:MM`). */
  listMetrics(envId: string, fromMinute: string, toMinute: string, now: number): Promise<MetricAggregate[]>;
}
