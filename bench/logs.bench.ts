/**
 * `npm run bench -- logs`
 *
 * 1. The log indexer against a bare loop, same process, same payloads: a CloudWatch Logs
 *    subscription batch of ~6,000 events / ~1 MB (gzip + base64). Bare loop = gunzip +
 *    JSON.parse of the payload + JSON.parse of each line + group by id, nothing else. Real
 *    indexer = decodeSubscription (gunzip, strict UTF-8, JSON) + indexLogEvents (parse, validate,
 *    truncate, group, build the records and metric partials); the store is excluded.
 *    Targets: >= 50 % of the bare loop's events/s (>= 200,000 events/s) and <= 30 ms per 1 MB.
 * 2. The local feed's store: how many records per second each LogStore adapter takes when
 *    written the way the local feed writes (batches of ~1,000 records): the file store, and the
 *    logs table on dynalite (in this process, as `npm start` would run it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ensureLogsTable } from '../lambdas/adapters/dynamodb/create-logs-table';
import { DynamoDbLogStore } from '../lambdas/adapters/dynamodb/dynamodb-log-store';
import { startDynalite } from '../lambdas/local/dynalite-server';
import { FileLogStore } from '../lambdas/adapters/local/logs/file-log-store';
import { indexLogEvents, LogBatchBuilder } from '../lambdas/core/logs/index-log-events';
import { blockLogGroupName, gatewayLogGroupName, parseLogGroupName } from '../lambdas/core/logs/log-groups';
import { gatewayAccessLogFormat } from '../lambdas/core/logs/access-log-format';
import type { IndexedBatch } from '../lambdas/core/logs/log-records';
import type { LogStore } from '../lambdas/ports/log-store';
import { decodeSubscription } from '../lambdas/handlers/logs/decode-subscription';
import { median, saveResults } from './results';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ENV_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/** ~6,000 block lines, ~1 MB: 95 % JSON console lines with an id (10 per request), 5 % plain. */
function blockPayload(events = 6000): { event: { awslogs: { data: string } }; bytes: number } {
  const start = Date.parse('2025-06-15T10:00:00Z');
  const logEvents = Array.from({ length: events }, (_, i) => {
    const id = `${((Math.floor(i / 10) * 2654435761) % 4294967296).toString(16).padStart(8, '0')}-7f3a-4c2b-9d1e-${String(i).padStart(12, '0')}`;
    const message =
      i % 20 === 19
        ? `GET /items/${i} served from cache in ${i % 17} ms, pool 12/64`
        : JSON.stringify({ kinto_request_id: id, msg: 'order ok', ms: i % 97 });
    return { id: String(3.7e55 + i).padStart(56, '0'), timestamp: start + i, message };
  });
  const json = JSON.stringify({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: blockLogGroupName(ENV_ID, 'orders'),
    logStream: '2025/06/15/[7]abc',
    subscriptionFilters: ['kinto'],
    logEvents,
  });
  return { event: { awslogs: { data: gzipSync(json).toString('base64') } }, bytes: Buffer.byteLength(json) };
}

/** ~6,000 gateway access entries in the stage format. */
function accessPayload(events = 6000): { event: { awslogs: { data: string } }; bytes: number } {
  const format = gatewayAccessLogFormat(ENV_ID, { release: '1.4.2', commits: { orders: 'abcdef012345', web: '0123456789ab' } });
  const start = Date.parse('2025-06-15T10:00:00Z');
  const logEvents = Array.from({ length: events }, (_, i) => ({
    id: String(3.7e55 + i).padStart(56, '0'),
    timestamp: start + i,
    message: format
      .replace('$context.requestId', `Req${String(i).padStart(10, '0')}=`)
      .replace('$context.requestTimeEpoch', String(start + i))
      .replace('$context.httpMethod', 'GET')
      .replace('$context.path', `/orders/items/${i}`)
      .replace('$context.status', i % 50 === 0 ? '500' : '200')
      .replace('$context.responseLatency', String(5 + (i % 40)))
      .replace('$context.authorizer.clientId', `client-${i % 7}`)
      .replace('$context.integration.requestId', `4f1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}`),
  }));
  const json = JSON.stringify({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: gatewayLogGroupName(ENV_ID),
    logStream: 'stage',
    subscriptionFilters: ['kinto'],
    logEvents,
  });
  return { event: { awslogs: { data: gzipSync(json).toString('base64') } }, bytes: Buffer.byteLength(json) };
}

/** The bare loop the issue defines: gunzip, parse, parse each line, group by id. */
function bareLoop(event: { awslogs: { data: string } }): number {
  const batch = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as { logEvents: { message: string }[] };
  const groups = new Map<string, string[]>();
  for (const e of batch.logEvents) {
    let v: { kinto_request_id?: unknown; requestId?: unknown } | undefined;
    try {
      v = JSON.parse(e.message);
    } catch {
      v = undefined;
    }
    const id = v && typeof v === 'object' ? (v.kinto_request_id ?? v.requestId) : undefined;
    if (typeof id !== 'string') continue;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = []));
    g.push(e.message);
  }
  return groups.size;
}

function realIndexer(event: { awslogs: { data: string } }): number {
  const decoded = decodeSubscription(event);
  if (!decoded.ok) throw new Error(decoded.reason);
  const source = parseLogGroupName(decoded.batch.logGroup)!;
  const batch = indexLogEvents(source, decoded.batch.logEvents, { batch: 'bench', lossy: decoded.lossy });
  return batch.lines.length + batch.instance.length + batch.access.length;
}

/** ms per call: the median of `reps` timed calls after warm-up. */
function timeIt(fn: () => unknown, reps: number): number {
  for (let i = 0; i < 5; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function storeRate(store: LogStore, records: number, batchSize: number): Promise<number> {
  const source = { kind: 'block' as const, envId: ENV_ID, block: 'orders', release: '1.0.0' };
  const batches: IndexedBatch[] = [];
  let seq = 0;
  const t0Time = Date.now();
  for (let done = 0; done < records; done += batchSize) {
    const b = new LogBatchBuilder({ batch: `b${done}` });
    for (let i = 0; i < batchSize; i++) {
      const n = seq++;
      if (i % 3 === 0)
        b.addAccess({ envId: ENV_ID, requestId: `r${n}`, time: t0Time + n, method: 'GET', path: '/orders/x', status: 200, durationMs: 3 });
      else
        b.addBlockLine(source, {
          time: t0Time + n,
          seq: String(n).padStart(10, '0'),
          text: i % 3 === 1 ? JSON.stringify({ kinto_request_id: `r${n - 1}`, message: 'handled' }) : `plain line ${n}`,
          stream: 'stdout',
        });
    }
    batches.push(b.build());
  }
  const t0 = performance.now();
  for (const b of batches) await store.write(b);
  return records / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const block = blockPayload();
  const access = accessPayload();
  const rows: Record<string, number[]> = { bareBlock: [], realBlock: [], bareAccess: [], realAccess: [] };
  for (let run = 0; run < RUNS; run++) {
    rows.bareBlock.push(timeIt(() => bareLoop(block.event), 15));
    rows.realBlock.push(timeIt(() => realIndexer(block.event), 15));
    rows.bareAccess.push(timeIt(() => bareLoop(access.event), 15));
    rows.realAccess.push(timeIt(() => realIndexer(access.event), 15));
  }
  const ms = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as Record<keyof typeof rows, number>;
  const rate = (msPer: number) => Math.round(6000 / (msPer / 1000));
  console.log(
    `\nIndexer, ${RUNS} runs, payloads of 6,000 events: block ${(block.bytes / 1e6).toFixed(2)} MB, access ${(access.bytes / 1e6).toFixed(2)} MB (uncompressed)`,
  );
  console.table({
    'block log: bare loop': { 'ms / payload': ms.bareBlock.toFixed(2), 'events/s': rate(ms.bareBlock) },
    'block log: indexer': {
      'ms / payload': ms.realBlock.toFixed(2),
      'events/s': rate(ms.realBlock),
      'vs bare': `${((ms.bareBlock / ms.realBlock) * 100).toFixed(0)} %`,
    },
    'access log: bare loop': { 'ms / payload': ms.bareAccess.toFixed(2), 'events/s': rate(ms.bareAccess) },
    'access log: indexer': {
      'ms / payload': ms.realAccess.toFixed(2),
      'events/s': rate(ms.realAccess),
      'vs bare': `${((ms.bareAccess / ms.realAccess) * 100).toFixed(0)} %`,
    },
  });
  const perMb = ms.realBlock / (block.bytes / 1e6);
  console.log(
    `Indexer: ${perMb.toFixed(1)} ms per MB of block log (bare loop ${(ms.bareBlock / (block.bytes / 1e6)).toFixed(1)} ms per MB).`,
  );
  const targets = {
    'indexer >= 50 % of bare (block)': ms.bareBlock / ms.realBlock >= 0.5,
    'indexer >= 200,000 events/s (block)': rate(ms.realBlock) >= 200_000,
    'indexer <= 30 ms per MB (block)': perMb <= 30,
  };
  console.table(Object.fromEntries(Object.entries(targets).map(([k, v]) => [k, v ? 'met' : 'MISSED'])));

  // Local feed stores.
  const dir = mkdtempSync(join(tmpdir(), 'kinto-bench-logs-'));
  const files = await FileLogStore.open({ dir });
  const dynamo = await startDynalite();
  const tableName = `logs-${randomBytes(3).toString('hex')}`;
  await ensureLogsTable(dynamo.client, tableName);
  const table = new DynamoDbLogStore({ client: dynamo.client, tableName });
  const fileRates: number[] = [];
  const tableRates: number[] = [];
  for (let run = 0; run < 3; run++) {
    fileRates.push(await storeRate(files, 30_000, 1000));
    tableRates.push(await storeRate(table, 3_000, 1000));
  }
  await files.close();
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
  console.log('\nLocal feed store, records/s written in batches of 1,000 (median of 3):');
  console.table({
    'file store (append + memory index)': { 'records/s': Math.round(median(fileRates)) },
    'logs table on dynalite (in process)': { 'records/s': Math.round(median(tableRates)) },
  });

  saveResults('logs', {
    runs: RUNS,
    ms,
    eventsPerSecond: {
      block: rate(ms.realBlock),
      bareBlock: rate(ms.bareBlock),
      access: rate(ms.realAccess),
      bareAccess: rate(ms.bareAccess),
    },
    msPerMb: perMb,
    targets,
    storeRecordsPerSecond: { files: median(fileRates), dynalite: median(tableRates) },
  });
  if (Object.values(targets).some((v) => !v)) process.exitCode = 1;
}

void main();
