import { createHash } from 'node:crypto';
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudWatchLogsEvent, Context } from 'aws-lambda';
import { DEFAULT_RETENTION_MS, indexLogEvents } from '../core/logs/index-log-events';
import { emptySummary, type IndexSummary } from '../core/logs/log-records';
import { parseLogGroupName } from '../core/logs/log-groups';
import type { LogStore } from '../ports/log-store';
import { DynamoDbLogStore } from '../adapters/dynamodb/dynamodb-log-store';
import { indexerHealthLine, metricLines } from '../adapters/aws/embedded-metrics';
import { decodeSubscription } from './logs/decode-subscription';
import { DEFAULT_METRICS_NAMESPACE, LOG_INDEXER_ENV } from './logs/log-indexer-env';

export interface LogIndexerOptions {
  readonly store: LogStore;
  /** @default 2 days */
  readonly retentionMs?: number;
  /** @default 'Kinto' */
  readonly namespace?: string;
  /** Where log lines and EMF lines go. @default process.stdout (raw: EMF must not carry the runtime's prefix) */
  readonly write?: (line: string) => void;
}

export interface LogIndexerResult {
  readonly status: 'indexed' | 'control' | 'corrupt' | 'unknown-group' | 'empty';
  readonly summary: IndexSummary;
}

/**
 * The log indexer for CloudWatch Logs subscription events: decode, index in the core, write to
 * the logs table, then emit metrics. A write that fails after its retries throws, so the
 * invocation fails and is retried (no silent loss); bad input never throws.
 */
export function createLogIndexer(options: LogIndexerOptions) {
  const namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const log = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) =>
    write(JSON.stringify({ level, message, ...fields }));

  return async (event: CloudWatchLogsEvent): Promise<LogIndexerResult> => {
    const decoded = decodeSubscription(event);
    if (!decoded.ok) {
      log('error', 'log batch not indexed: corrupt payload', { reason: decoded.reason });
      write(indexerHealthLine(emptySummary(), 1, namespace, Date.now()));
      return { status: 'corrupt', summary: emptySummary() };
    }
    const { batch, lossy } = decoded;
    if (batch.messageType === 'CONTROL_MESSAGE') return { status: 'control', summary: emptySummary() };
    if (batch.messageType !== 'DATA_MESSAGE') {
      log('warn', 'log batch ignored: unknown messageType', { messageType: batch.messageType.slice(0, 64) });
      return { status: 'control', summary: emptySummary() };
    }
    const source = parseLogGroupName(batch.logGroup);
    if (!source) {
      log('warn', 'log batch ignored: not a Kinto log group (expected /kinto/env/<envId>/gateway or /block/<block>)', {
        logGroup: batch.logGroup.slice(0, 512),
        events: batch.logEvents.length,
      });
      return { status: 'unknown-group', summary: emptySummary() };
    }
    if (batch.logEvents.length === 0) {
      log('info', 'log batch empty', { logGroup: batch.logGroup });
      return { status: 'empty', summary: emptySummary() };
    }
    const indexed = indexLogEvents(source, batch.logEvents, {
      batch: batchId(batch),
      retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
      lossy,
    });
    await options.store.write(indexed);
    for (const line of metricLines(indexed.metrics, namespace)) write(line);
    const s = indexed.summary;
    const unusable = s.notJson + s.notObject + s.noRequestId + s.truncated + s.invalidUtf8 + s.invalidAccess;
    log(s.invalidAccess + s.invalidUtf8 + s.truncated > 0 ? 'warn' : 'info', 'log batch indexed', {
      logGroup: batch.logGroup,
      logStream: batch.logStream,
      unusable,
      ...s,
    });
    write(indexerHealthLine(s, 0, namespace, Date.now()));
    return { status: 'indexed', summary: s };
  };
}

/** Same batch, same id: a redelivered batch does not count its metrics twice. */
function batchId(batch: { logGroup: string; logStream: string; logEvents: ReadonlyArray<{ id: string }> }): string {
  const events = batch.logEvents;
  return createHash('sha256')
    .update(`${batch.logGroup}\n${batch.logStream}\n${events.length}\n${events[0]?.id}\n${events[events.length - 1]?.id}`)
    .digest('base64url')
    .slice(0, 22);
}

// Lambda entry point: clients once per container, created on first use so a bad setting fails loudly.
let indexer: ReturnType<typeof createLogIndexer> | undefined;
function defaultIndexer(): ReturnType<typeof createLogIndexer> {
  if (indexer) return indexer;
  const tableName = process.env[LOG_INDEXER_ENV.tableName];
  if (!tableName) throw new Error(`${LOG_INDEXER_ENV.tableName} is not set: the log indexer needs the logs table's name`);
  const hours = Number(process.env[LOG_INDEXER_ENV.retentionHours] ?? 48);
  if (!Number.isFinite(hours) || hours <= 0) throw new Error(`${LOG_INDEXER_ENV.retentionHours} must be a positive number of hours`);
  indexer = createLogIndexer({
    store: new DynamoDbLogStore({ client: new DynamoDBClient({}), tableName }),
    retentionMs: hours * 3600_000,
    namespace: process.env[LOG_INDEXER_ENV.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
  });
  return indexer;
}

const handlerFn = async (event: CloudWatchLogsEvent, _context: Context): Promise<LogIndexerResult> => defaultIndexer()(event);

export const handler = middy(handlerFn);
