/**
 * What the log index holds. The indexer (`LogBatchBuilder`) builds these from raw lines; a
 * `LogStore` keeps them until `expiresAt` and answers the log and metrics API from them.
 * Times are ISO-8601 UTC with milliseconds; `expiresAt` is epoch seconds (the DynamoDB TTL unit).
 */

/** One request through an environment's gateway. */
export interface AccessRecord {
  readonly envId: string;
  readonly requestId: string;
  readonly time: string;
  readonly method: string;
  /** `/<block>/<path>`, without the query string. */
  readonly path: string;
  /** The block the gateway routed to; absent for gateway routes (`/authorize`) and unknown blocks. */
  readonly block?: string;
  /** Release version the environment ran. */
  readonly release?: string;
  /** Build commit of the block in that release. */
  readonly commit?: string;
  readonly status: number;
  readonly durationMs: number;
  readonly clientId?: string;
  /** AWS: the Lambda invocation's request id (joins the block's REPORT line). */
  readonly lambdaRequestId?: string;
  readonly expiresAt: number;
}

/** One request as a gateway reports it: the access record before the index adds its expiry. */
export type AccessEntry = Omit<AccessRecord, 'expiresAt'>;

export type LineStream = 'stdout' | 'stderr' | 'platform';

/** A console line a block logged as a JSON object with `kinto_request_id`: attached to that request. */
export interface ConsoleLineRecord {
  readonly envId: string;
  readonly requestId: string;
  readonly time: string;
  /** Unique within the request and idempotent across redeliveries; orders lines logged in the same ms. */
  readonly seq: string;
  readonly block: string;
  readonly release?: string;
  readonly commit?: string;
  readonly stream: LineStream;
  /** The line as logged (JSON text), truncated with a marker past 256 KB. */
  readonly text: string;
  readonly truncated?: boolean;
  readonly expiresAt: number;
}

/** What a Lambda `REPORT` line says about one invocation. */
export interface LambdaReport {
  readonly lambdaRequestId: string;
  readonly durationMs: number;
  readonly billedDurationMs: number;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
  /** Present on a cold start: how long the init phase took. */
  readonly initDurationMs?: number;
}

/** A line of a block's plain instance log: output not attached to a request, and platform events. */
export interface InstanceLineRecord {
  readonly envId: string;
  readonly block: string;
  readonly time: string;
  readonly seq: string;
  readonly stream: LineStream;
  readonly text: string;
  readonly release?: string;
  readonly commit?: string;
  readonly truncated?: boolean;
  /** Lambda platform REPORT lines: the parsed numbers. */
  readonly report?: LambdaReport;
  readonly expiresAt: number;
}

/**
 * Counts for one block (or `GATEWAY_BLOCK`) in one minute, from one batch. Stores add partials
 * with the same `envId`/`block`/`minute` together; `batch` makes adding one twice a no-op.
 */
export interface MetricPartial {
  readonly envId: string;
  /** The block, or `GATEWAY_BLOCK` for requests the gateway answered itself. */
  readonly block: string;
  /** `YYYY-MM-DDTHH:MM` (UTC). */
  readonly minute: string;
  readonly batch: string;
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  readonly durationSumMs: number;
  /**
   * Duration histogram: bucket index (see duration-histogram.ts) -> count. Percentiles and the
   * maximum come from it: counts add up across batches, a maximum would not (DynamoDB `ADD`).
   */
  readonly histogram: Readonly<Record<string, number>>;
  /** Cold starts (Lambda init) and wakes (local process start). */
  readonly coldStarts: number;
  readonly coldStartSumMs: number;
  readonly expiresAt: number;
}

/** Metrics key for requests that reached no block (`/authorize`, unknown block): never a block name. */
export const GATEWAY_BLOCK = '-';

/** What the indexer could not use, and what it kept. Logged as a summary after each batch. */
export interface IndexSummary {
  /** Lines and entries seen. */
  events: number;
  accessEntries: number;
  attachedLines: number;
  plainLines: number;
  platformLines: number;
  /** Lines that are not JSON (kept as plain instance lines). */
  notJson: number;
  /** JSON that is not an object: arrays, strings, numbers (kept as plain lines). */
  notObject: number;
  /** JSON objects without a usable `kinto_request_id` (kept as plain lines). */
  noRequestId: number;
  /** Lines over the size limit (kept, truncated with a marker). */
  truncated: number;
  /** Lines with invalid UTF-8 (kept, with U+FFFD in place of the bad bytes). */
  invalidUtf8: number;
  /** Gateway access lines not in the access-log format (dropped: they name no request). */
  invalidAccess: number;
  /** Entries the local feed could not queue (buffer full): lost, and counted so it is never silent. */
  shed: number;
}

export const emptySummary = (): IndexSummary => ({
  events: 0,
  accessEntries: 0,
  attachedLines: 0,
  plainLines: 0,
  platformLines: 0,
  notJson: 0,
  notObject: 0,
  noRequestId: 0,
  truncated: 0,
  invalidUtf8: 0,
  invalidAccess: 0,
  shed: 0,
});

/** Everything one batch of raw lines turned into: what a LogStore writes. */
export interface IndexedBatch {
  readonly access: AccessRecord[];
  readonly lines: ConsoleLineRecord[];
  readonly instance: InstanceLineRecord[];
  readonly metrics: MetricPartial[];
  readonly summary: IndexSummary;
}
