/**
 * Environment variables of the `log-indexer` Lambda (set by `lib/log-indexer.ts`). A file of its
 * own so the CDK construct can import the names without loading the handler's SDK clients.
 */
export const LOG_INDEXER_ENV = {
  /** The logs table's name. Required. */
  tableName: 'KINTO_LOGS_TABLE',
  /** Hours an entry is kept. Default 48. */
  retentionHours: 'KINTO_LOG_RETENTION_HOURS',
  /** CloudWatch namespace of the embedded metrics. Default `Kinto`. */
  metricsNamespace: 'KINTO_METRICS_NAMESPACE',
} as const;

export const DEFAULT_METRICS_NAMESPACE = 'Kinto';
