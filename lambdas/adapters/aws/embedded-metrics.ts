import { bucketValue } from '../../core/logs/duration-histogram';
import type { IndexSummary, MetricPartial } from '../../core/logs/log-records';
import { GATEWAY_BLOCK } from '../../core/logs/log-records';

/** EMF takes at most 100 values per metric in one line. */
const MAX_VALUES = 100;

/**
 * CloudWatch embedded metric format lines for one batch: per environment and block per minute,
 * `Requests`, `Errors4xx`, `Errors5xx`, `Duration` (a distribution, so CloudWatch computes
 * p50/p95/p99) and `ColdStarts`/`ColdStartDuration`. The deployer's per-environment dashboard
 * graphs them (namespace `namespace`, dimensions `EnvId` + `Block`).
 */
export function metricLines(metrics: readonly MetricPartial[], namespace: string): string[] {
  const lines: string[] = [];
  for (const m of metrics) {
    const timestamp = Date.parse(`${m.minute}:00.000Z`);
    const dims = { EnvId: m.envId, Block: m.block === GATEWAY_BLOCK ? 'gateway' : m.block };
    const durations: number[] = [];
    for (const [bucket, count] of Object.entries(m.histogram)) {
      const value = Math.round(bucketValue(Number(bucket)) * 100) / 100;
      for (let i = 0; i < count; i++) durations.push(value);
    }
    const first: Record<string, unknown> = { Requests: m.requests, Errors4xx: m.errors4xx, Errors5xx: m.errors5xx };
    const firstMetrics = [
      { Name: 'Requests', Unit: 'Count' },
      { Name: 'Errors4xx', Unit: 'Count' },
      { Name: 'Errors5xx', Unit: 'Count' },
    ];
    if (m.coldStarts > 0) {
      first.ColdStarts = m.coldStarts;
      first.ColdStartDuration = Math.round((m.coldStartSumMs / m.coldStarts) * 100) / 100;
      firstMetrics.push({ Name: 'ColdStarts', Unit: 'Count' }, { Name: 'ColdStartDuration', Unit: 'Milliseconds' });
    }
    let offset = 0;
    do {
      const chunk = durations.slice(offset, offset + MAX_VALUES);
      const isFirst = offset === 0;
      const names = [...(isFirst ? firstMetrics : []), ...(chunk.length ? [{ Name: 'Duration', Unit: 'Milliseconds' }] : [])];
      if (names.length > 0) {
        lines.push(
          JSON.stringify({
            _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [['EnvId', 'Block']], Metrics: names }] },
            ...dims,
            ...(isFirst ? first : {}),
            ...(chunk.length ? { Duration: chunk } : {}),
          }),
        );
      }
      offset += MAX_VALUES;
    } while (offset < durations.length);
  }
  return lines;
}

/** The indexer's own health: what it indexed and what it could not use, per invocation. */
export function indexerHealthLine(summary: IndexSummary, corruptPayloads: number, namespace: string, at: number): string {
  const values: Record<string, number> = {
    EventsIndexed: summary.events,
    AccessEntries: summary.accessEntries,
    NotJsonLines: summary.notJson,
    NotObjectLines: summary.notObject,
    NoRequestIdLines: summary.noRequestId,
    TruncatedLines: summary.truncated,
    InvalidUtf8Lines: summary.invalidUtf8,
    InvalidAccessLines: summary.invalidAccess,
    CorruptPayloads: corruptPayloads,
  };
  return JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        { Namespace: namespace, Dimensions: [[]], Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })) },
      ],
    },
    ...values,
  });
}
