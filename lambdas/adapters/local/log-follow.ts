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
import type { LogFeed } from './log-feed';

export interface LogFollowOptions {
  readonly ctx: () => CoreContext;
  readonly logs: LogStore;
  readonly feed: LogFeed;
  readonly adminToken: AdminTokenSource;
  /** Comment lines that keep proxies from closing a quiet stream. @default 15000 */
  readonly heartbeatMs?: number;
}

const PATH = /^\/v1\/projects\/([^/]+)\/environments\/([^/]+)\/blocks\/([^/]+)\/logs\/?$/;

/**
 * `GET .../environments/{env}/blocks/{block}/logs?follow=true` (or `Accept: text/event-stream`)
 * on the local platform: the block's instance log as server-sent events. It sends the last lines
 * (`?limit`, default 100; or those after `?after=` / `Last-Event-ID`), then every new line as it
 * is indexed. Each event's id is a cursor, so a reconnecting EventSource resumes where it stopped.
 * Returns false for requests it does not answer (they go to the API handler).
 */
export function createLogFollowHandler(options: LogFollowOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = PATH.exec(url.pathname);
    if (!m) return false;
    const follow = url.searchParams.get('follow');
    const wantsStream = (follow !== null && follow !== 'false') || /text\/event-stream/.test(req.headers.accept ?? '');
    if (!wantsStream) return false;
    void stream(options, req, res, m.slice(1).map(decode) as [string, string, string], url.searchParams).catch((e) => {
      if (res.headersSent) return void res.end();
      writeApiGatewayResult(res, toErrorResponse(e, 'local'));
    });
    return true;
  };
}

async function stream(options: LogFollowOptions, req: IncomingMessage, res: ServerResponse, [project, env, block]: [string, string, string], params: URLSearchParams): Promise<void> {
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

  // Listen before reading the backlog, so no line falls between the two; duplicates are skipped by key.
  const pending: InstanceLineRecord[] = [];
  let live = false;
  let lastKey = '';
  const send = (lines: readonly InstanceLineRecord[]) => {
    let out = '';
    for (const l of lines) {
      const key = `${l.time}#${l.seq}`;
      if (key <= lastKey) continue;
      if (q.search && !l.text.toLowerCase().includes(q.search)) continue;
      if (q.from && l.time < q.from) continue;
      lastKey = key;
      out += `id: ${encodeLogCursor({ time: l.time, key: l.seq })}\nevent: line\ndata: ${JSON.stringify(instanceLineView(l))}\n\n`;
    }
    if (out) res.write(out);
  };
  const unsubscribe = options.feed.subscribe(target.env.id, target.block.name, (lines) => (live ? send(lines) : pending.push(...lines)));
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
  heartbeat.unref();
  const stop = () => {
    unsubscribe();
    clearInterval(heartbeat);
  };
  req.once('close', stop);
  res.once('close', stop);

  try {
    const backlog = await listBlockLogs(ctx, target, q);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff' });
    res.write(': following\n\n');
    send(q.order === 'newest' ? [...backlog.items].reverse() : backlog.items);
    live = true;
    send(pending.splice(0));
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
