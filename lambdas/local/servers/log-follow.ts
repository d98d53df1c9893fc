import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CoreContext } from '../../core/context';
import { badRequest } from '../../core/errors';
import { encodeLogCursor, parseLogCursor } from '../../core/logs/log-cursor';
import { blockLogTarget, listBlockLogs, parseInstanceLogQuery, type LogsContext } from '../../core/logs/log-queries';
import type { InstanceLineRecord } from '../../core/logs/log-records';
import type { LogStore } from '../../ports/log-store';
import { assertAdmin, type AdminTokenSource } from '../../handlers/http/admin-auth';
import { toErrorResponse } from '../../handlers/http/http-errors';
import { instanceLineView } from '../../handlers/api/log-views';
import { writeApiGatewayResult } from './apigw-event';
import type { LogFeed } from '../../adapters/local/logs/log-feed';
import { parseStreamRequest } from './stream-request';

export interface LogFollowOptions {
  readonly ctx: () => CoreContext;
  readonly logs: LogStore;
  readonly feed: LogFeed;
  readonly adminToken: AdminTokenSource;
  /** Comment lines that keep proxies from closing a quiet stream. @default 15000 */
  readonly heartbeatMs?: number;
  /**
   * Bytes of new lines that may wait for a follower whose connection takes no more; past it, the
   * follower is disconnected. @default 1048576 (1 MiB)
   */
  readonly maxBufferedBytes?: number;
}

/**
 * `GET .../environments/{env}/blocks/{block}/logs?follow=true` (or `Accept: text/event-stream`)
 * on the local platform: the block's instance log as server-sent events. It sends the last lines
 * (`?limit`, default 100; or those after `?after=` / `Last-Event-ID`), then every new line as it
 * is indexed. Each event's id is a cursor, so a reconnecting EventSource resumes where it stopped.
 * A follower that does not read is disconnected once `maxBufferedBytes` wait for it: it resumes
 * from its last event when it reconnects, and nothing piles up in the platform meanwhile.
 * Returns false for requests it does not answer (they go to the API handler).
 */
export function createLogFollowHandler(options: LogFollowOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const follow = parseStreamRequest(req);
    if (follow?.kind !== 'logs') return false;
    void stream(options, req, res, follow.path.map(decode) as [string, string, string], follow.params).catch((e) => {
      if (res.headersSent) return void res.end();
      writeApiGatewayResult(res, toErrorResponse(e, 'local'));
    });
    return true;
  };
}

async function stream(
  options: LogFollowOptions,
  req: IncomingMessage,
  res: ServerResponse,
  [project, env, block]: [string, string, string],
  params: URLSearchParams,
): Promise<void> {
  await assertAdmin(req.headers.authorization, options.adminToken);
  const query: Record<string, string> = {};
  for (const [k, v] of params) query[k] = v;
  delete query.follow;
  if (query.before !== undefined || query.to !== undefined) {
    throw badRequest('INVALID_QUERY', 'Following streams new lines: use ?after= (or ?limit= for the last lines), not ?before= or ?to=.');
  }
  const lastEventId = req.headers['last-event-id'];
  if (typeof lastEventId === 'string' && lastEventId && query.after === undefined) {
    parseLogCursor(lastEventId, 'after', 'after');
    query.after = lastEventId;
  }
  const q = parseInstanceLogQuery(query);
  const ctx: LogsContext = { ...options.ctx(), logs: options.logs };
  const target = await blockLogTarget(ctx, project, env, block);

  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  let lastKey = '';
  const event = (l: InstanceLineRecord): string => {
    const key = `${l.time}#${l.seq}`;
    if (key <= lastKey) return '';
    if (q.search && !l.text.toLowerCase().includes(q.search)) return '';
    if (q.from && l.time < q.from) return '';
    lastKey = key;
    return `id: ${encodeLogCursor({ time: l.time, key: l.seq })}\nevent: line\ndata: ${JSON.stringify(instanceLineView(l))}\n\n`;
  };

  // Lines go out as fast as the follower takes them (write until the socket is full, then wait for
  // 'drain'). Resuming (`after`), every line since the cursor goes first, page by page; new lines
  // wait in `queue`, and once more than `maxBuffered` bytes of them wait, the follower is
  // disconnected: what it has not read is dropped, and its EventSource resumes after its last
  // event, reading what it missed from the index at its own pace.
  let backlog: readonly InstanceLineRecord[] = [];
  let backlogAt = 0;
  let cursor = query.after;
  let paging = false;
  let fetching = false;
  let queue: InstanceLineRecord[] = [];
  let queueAt = 0;
  let queuedBytes = 0;
  let started = false;
  let waiting = false;
  const pump = () => {
    while (!waiting && !res.destroyed) {
      let l: InstanceLineRecord;
      if (backlogAt < backlog.length) l = backlog[backlogAt++]!;
      else if (paging) return void (fetching || nextPage());
      else if (queueAt < queue.length) {
        l = queue[queueAt++]!;
        queuedBytes -= l.text.length;
      } else break;
      const e = event(l);
      if (e && !res.write(e)) {
        waiting = true;
        res.once('drain', onDrain);
      }
    }
    if (queueAt === queue.length) {
      queue = [];
      queueAt = 0;
    }
  };
  const take = (page: { items: readonly InstanceLineRecord[]; followCursor: string }) => {
    backlog = page.items;
    backlogAt = 0;
    paging = q.order === 'oldest' && page.followCursor !== cursor;
    cursor = page.followCursor;
  };
  const nextPage = async () => {
    fetching = true;
    try {
      take(await listBlockLogs(ctx, target, parseInstanceLogQuery({ ...query, after: cursor })));
    } catch (e) {
      console.error(
        JSON.stringify({ level: 'error', message: 'log follow: reading the next page failed', error: String((e as Error)?.stack ?? e) }),
      );
      return disconnect();
    } finally {
      fetching = false;
    }
    pump();
  };
  const onDrain = () => {
    waiting = false;
    pump();
  };
  // Listen before reading the backlog, so no line falls between the two; duplicates are skipped by key.
  const unsubscribe = options.feed.subscribe(target.env.id, target.block.name, (lines) => {
    for (const l of lines) {
      queue.push(l);
      queuedBytes += l.text.length;
    }
    if (started) pump();
    if (queuedBytes > maxBuffered) disconnect();
  });
  const heartbeat = setInterval(() => waiting || res.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
  heartbeat.unref();
  const stop = () => {
    unsubscribe();
    clearInterval(heartbeat);
    res.off('drain', onDrain);
  };
  const disconnect = () => {
    stop();
    res.destroy();
  };
  req.once('close', stop);
  res.once('close', stop);

  try {
    const found = await listBlockLogs(ctx, target, q);
    if (res.destroyed) return stop();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.write(': following\n\n');
    take(q.order === 'newest' ? { ...found, items: [...found.items].reverse() } : found);
    started = true;
    pump();
  } catch (e) {
    stop();
    throw e;
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
