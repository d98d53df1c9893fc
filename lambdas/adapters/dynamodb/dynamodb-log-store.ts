import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AccessRecord, ConsoleLineRecord, IndexedBatch, InstanceLineRecord, MetricPartial } from '../../core/logs/log-records';
import type { InstanceLineQuery, LogCursor, LogPage, LogStore, MetricAggregate, RequestQuery } from '../../ports/log-store';
import { LOGS_TABLE, logKeys } from './logs-table';

export interface DynamoDbLogStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /**
   * Tries per BatchWriteItem batch before it fails (UnprocessedItems are retried with
   * exponential backoff and full jitter).
   * @default 8
   */
  readonly maxAttempts?: number;
  /** @default 50 (ms; doubles per attempt, capped at 2 s) */
  readonly baseDelayMs?: number;
  /** Batches of 25 in flight at once. @default 4 */
  readonly concurrency?: number;
  /** For tests: how backoff waits. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A batch whose items DynamoDB still had not taken after every retry. */
export class LogWriteError extends Error {
  public override readonly name = 'LogWriteError';
}

/** BatchWriteItem takes at most 25 requests. */
export const BATCH_SIZE = 25;
/** Items one listing call examines at most (filters run in code), so a sparse filter cannot run away. */
const SCAN_BUDGET = 5000;
const MAX_LINES_PER_REQUEST = 5000;

const KEY_ATTRIBUTES = new Set<string>([
  LOGS_TABLE.partitionKey,
  LOGS_TABLE.sortKey,
  LOGS_TABLE.byEnvIndex.partitionKey,
  LOGS_TABLE.byEnvIndex.sortKey,
  LOGS_TABLE.byBlockIndex.partitionKey,
  LOGS_TABLE.byBlockIndex.sortKey,
]);

type Item = Record<string, unknown>;

/** The LogStore port on the logs table (see logs-table.ts for the keys and access patterns). */
export class DynamoDbLogStore implements LogStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: DynamoDbLogStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  private get table(): string {
    return this.options.tableName;
  }

  async write(batch: IndexedBatch): Promise<void> {
    // BatchWriteItem refuses two requests for one key in a call: the last write of a key wins.
    const byKey = new Map<string, Item>();
    for (const r of batch.access) this.keep(byKey, accessItem(r));
    for (const r of batch.lines) this.keep(byKey, lineItem(r));
    for (const r of batch.instance) this.keep(byKey, instanceItem(r));
    const items = [...byKey.values()];
    const chunks: Item[][] = [];
    for (let i = 0; i < items.length; i += BATCH_SIZE) chunks.push(items.slice(i, i + BATCH_SIZE));
    await runLimited(chunks, this.options.concurrency ?? 4, (chunk) => this.writeChunk(chunk));
    for (const m of batch.metrics) await this.addMetric(m);
  }

  private keep(byKey: Map<string, Item>, item: Item): void {
    byKey.set(`${String(item.pk)}\u0000${String(item.sk)}`, item);
  }

  private async writeChunk(items: Item[]): Promise<void> {
    let requests: unknown[] = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; ; attempt++) {
      const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests as never } }));
      requests = out.UnprocessedItems?.[this.table] ?? [];
      if (requests.length === 0) return;
      if (attempt >= this.maxAttempts) {
        throw new LogWriteError(
          `${requests.length} of ${items.length} log items were still unprocessed after ${attempt} BatchWriteItem attempts (table ${this.table} is throttling)`,
        );
      }
      // Full jitter: concurrent writers spread out instead of retrying in step.
      await this.sleep(Math.random() * Math.min(2000, this.baseDelayMs * 2 ** (attempt - 1)));
    }
  }

  /**
   * Adds a partial into its minute's item. `applied` lists the batches already added, so a
   * redelivered batch is refused by the condition and not counted twice.
   */
  private async addMetric(m: MetricPartial): Promise<void> {
    const names: Record<string, string> = {
      '#applied': 'applied',
      '#env': 'envId',
      '#block': 'block',
      '#minute': 'minute',
      '#exp': 'expiresAt',
    };
    const values: Record<string, unknown> = {
      ':env': m.envId,
      ':block': m.block,
      ':minute': m.minute,
      ':exp': m.expiresAt,
      ':applied': new Set([m.batch]),
      ':batch': m.batch,
    };
    const adds: string[] = ['#applied :applied'];
    const counters: Record<string, number> = {
      requests: m.requests,
      errors4xx: m.errors4xx,
      errors5xx: m.errors5xx,
      durationSumMs: m.durationSumMs,
      coldStarts: m.coldStarts,
      coldStartSumMs: m.coldStartSumMs,
    };
    for (const [bucket, count] of Object.entries(m.histogram)) counters[`h${bucket}`] = count;
    for (const [name, value] of Object.entries(counters)) {
      if (value === 0) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      adds.push(`#${name} :${name}`);
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: logKeys.metrics(m.envId), sk: logKeys.metricSk(m.minute, m.block) },
          UpdateExpression: `SET #env = :env, #block = :block, #minute = :minute, #exp = :exp ADD ${adds.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#applied) OR NOT contains(#applied, :batch)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') return;
      throw e;
    }
  }

  async listRequests(q: RequestQuery): Promise<LogPage<AccessRecord>> {
    const index = q.block ? LOGS_TABLE.byBlockIndex : LOGS_TABLE.byEnvIndex;
    const pk = q.block ? logKeys.blockRequests(q.envId, q.block) : logKeys.envRequests(q.envId);
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: index.name,
      KeyConditionExpression: q.before ? '#pk = :pk AND #sk < :before' : '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey, ...(q.before ? { '#sk': index.sortKey } : {}) },
      ExpressionAttributeValues: { ':pk': pk, ...(q.before ? { ':before': logKeys.requestOrder(q.before.time, q.before.key) } : {}) },
      ScanIndexForward: false,
    };
    return this.collect<AccessRecord>(
      input,
      q.limit,
      (item) => {
        const status = item.status as number;
        return (item.expiresAt as number) > q.now && (!q.status || (status >= q.status.min && status <= q.status.max));
      },
      (r) => ({ time: r.time, key: r.requestId }),
    );
  }

  async getRequest(envId: string, requestId: string, now: number): Promise<{ access?: AccessRecord; lines: ConsoleLineRecord[] }> {
    let access: AccessRecord | undefined;
    const lines: ConsoleLineRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': logKeys.request(envId, requestId) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        if ((item.expiresAt as number) <= now) continue;
        if (item.sk === logKeys.accessSk()) access = record<AccessRecord>(item);
        else lines.push(record<ConsoleLineRecord>(item));
      }
      start = out.LastEvaluatedKey;
    } while (start && lines.length < MAX_LINES_PER_REQUEST);
    return { ...(access ? { access } : {}), lines };
  }

  async listInstanceLines(q: InstanceLineQuery): Promise<LogPage<InstanceLineRecord>> {
    // Inclusive key bounds; the cursors' own items are dropped in code (exclusive edges).
    let lo = q.from ?? '';
    let hi = q.to ? `${q.to}#~` : '';
    const beforeSk = q.before ? logKeys.instanceSk(q.before.time, q.before.key) : undefined;
    const afterSk = q.after ? logKeys.instanceSk(q.after.time, q.after.key) : undefined;
    if (afterSk && afterSk > lo) lo = afterSk;
    if (beforeSk && (!hi || beforeSk < hi)) hi = beforeSk;
    if (lo && hi && lo > hi) return { items: [] };
    const values: Record<string, unknown> = { ':pk': logKeys.instance(q.envId, q.block) };
    let condition = 'pk = :pk';
    if (lo && hi) {
      condition += ' AND sk BETWEEN :lo AND :hi';
      Object.assign(values, { ':lo': lo, ':hi': hi });
    } else if (lo) {
      condition += ' AND sk >= :lo';
      values[':lo'] = lo;
    } else if (hi) {
      condition += ' AND sk <= :hi';
      values[':hi'] = hi;
    }
    const input: QueryCommandInput = {
      TableName: this.table,
      KeyConditionExpression: condition,
      ExpressionAttributeValues: values,
      ScanIndexForward: q.order === 'oldest',
      ConsistentRead: true,
    };
    return this.collect<InstanceLineRecord>(
      input,
      q.limit,
      (item) => {
        if ((item.expiresAt as number) <= q.now || item.sk === beforeSk || item.sk === afterSk) return false;
        return !q.search || (item.text as string).toLowerCase().includes(q.search);
      },
      (r) => ({ time: r.time, key: r.seq }),
    );
  }

  async listMetrics(envId: string, fromMinute: string, toMinute: string, now: number): Promise<MetricAggregate[]> {
    const out: MetricAggregate[] = [];
    let start: Item | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': logKeys.metrics(envId), ':lo': `${fromMinute}#`, ':hi': `${toMinute}#~` },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) if ((item.expiresAt as number) > now) out.push(metricOf(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * Pages through a query keeping items that pass `keep`, up to `limit` items or the scan budget.
   * `next` is the last returned item (limit reached) or the last examined one (budget spent).
   */
  private async collect<T>(
    input: QueryCommandInput,
    limit: number,
    keep: (item: Item) => boolean,
    cursorOf: (r: T) => LogCursor,
  ): Promise<LogPage<T>> {
    const items: T[] = [];
    let examined = 0;
    let start: Item | undefined;
    let lastExamined: T | undefined;
    for (;;) {
      const out = await this.doc.send(
        new QueryCommand({ ...input, Limit: Math.min(1000, Math.max(limit + 1, 100)), ExclusiveStartKey: start }),
      );
      const page = out.Items ?? [];
      for (let i = 0; i < page.length; i++) {
        examined++;
        const item = page[i];
        lastExamined = record<T>(item);
        if (!keep(item)) continue;
        if (items.length === limit) return { items, next: cursorOf(items[items.length - 1]) };
        items.push(lastExamined);
      }
      start = out.LastEvaluatedKey;
      if (!start) return { items };
      if (examined >= SCAN_BUDGET) return { items, next: cursorOf(items.length === limit ? items[items.length - 1] : lastExamined!) };
    }
  }
}

function accessItem(r: AccessRecord): Item {
  const order = logKeys.requestOrder(r.time, r.requestId);
  return {
    ...r,
    pk: logKeys.request(r.envId, r.requestId),
    sk: logKeys.accessSk(),
    gsi1pk: logKeys.envRequests(r.envId),
    gsi1sk: order,
    ...(r.block ? { gsi2pk: logKeys.blockRequests(r.envId, r.block), gsi2sk: order } : {}),
  };
}

const lineItem = (r: ConsoleLineRecord): Item => ({ ...r, pk: logKeys.request(r.envId, r.requestId), sk: logKeys.lineSk(r.time, r.seq) });
const instanceItem = (r: InstanceLineRecord): Item => ({
  ...r,
  pk: logKeys.instance(r.envId, r.block),
  sk: logKeys.instanceSk(r.time, r.seq),
});

function record<T>(item: Item): T {
  const out: Item = {};
  for (const k in item) if (!KEY_ATTRIBUTES.has(k)) out[k] = item[k];
  return out as T;
}

function metricOf(item: Item): MetricAggregate {
  const histogram: Record<string, number> = {};
  for (const k in item) if (/^h\d+$/.test(k)) histogram[k.slice(1)] = item[k] as number;
  const n = (k: string): number => (typeof item[k] === 'number' ? item[k] : 0);
  return {
    envId: item.envId as string,
    block: item.block as string,
    minute: item.minute as string,
    requests: n('requests'),
    errors4xx: n('errors4xx'),
    errors5xx: n('errors5xx'),
    durationSumMs: n('durationSumMs'),
    histogram,
    coldStarts: n('coldStarts'),
    coldStartSumMs: n('coldStartSumMs'),
    expiresAt: n('expiresAt'),
  };
}

async function runLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
