import { unavailable, badRequest } from '../../core/errors';
import {
  blockLogTarget,
  getMetrics,
  getRequest,
  listBlockLogs,
  listRequests,
  parseInstanceLogQuery,
  type LogsContext,
} from '../../core/logs/log-queries';
import type { CoreContext } from '../../core/context';
import type { LogStore } from '../../ports/log-store';
import { jsonResponse } from '../http/response';
import { instanceLineSchema, metricsSchema, requestDetailSchema, requestSchema } from './view-schemas';
import { ENV, ok, route, type Route } from './routes';
import { consoleLineView, instanceLineView, requestView } from './log-views';

/** Where the log routes find the log index; undefined when this deployment has none. */
export type LogStoreSource = () => LogStore | Promise<LogStore> | undefined;

/**
 * Logs and metrics of an environment: the last requests, one request with its console lines, a
 * block's instance log, and per-minute metrics. Following a log in real time is a server-sent
 * event stream on the local platform (`?follow=true`, see adapters/local/log-follow.ts); a
 * Lambda cannot stream, so on AWS clients poll with `?after=<followCursor>`.
 */
export function logRoutes(source: LogStoreSource): Route[] {
  const withLogs = async (ctx: CoreContext): Promise<LogsContext> => {
    const logs = await source();
    if (!logs)
      throw unavailable('LOGS_UNAVAILABLE', 'This Kinto has no log index configured (the logs table); logs and metrics are not available.');
    return { ...ctx, logs };
  };
  return [
    route({
      method: 'GET',
      path: `${ENV}/requests`,
      response: requestSchema,
      list: true,
      summary: 'The last requests through the gateway, newest first (?limit, ?block, ?status=404|5xx|error, ?before=<nextCursor>)',
      tag: 'logs',
      status: 200,
      query: ['limit', 'block', 'status', 'before'],
      handle: async ({ ctx, params, query }) => {
        const list = await listRequests(await withLogs(ctx), params.project, params.env, query);
        return jsonResponse(200, { data: list.items.map(requestView), nextCursor: list.nextCursor ?? null });
      },
    }),
    route({
      method: 'GET',
      path: `${ENV}/requests/{requestId}`,
      response: requestDetailSchema,
      summary: 'One request: its access entry and the console lines its blocks logged with its kinto_request_id',
      tag: 'logs',
      status: 200,
      handle: async ({ ctx, params }) => {
        const detail = await getRequest(await withLogs(ctx), params.project, params.env, params.requestId);
        return ok({
          requestId: detail.requestId,
          access: detail.access ? requestView(detail.access) : null,
          consoleLines: detail.lines.map(consoleLineView),
        });
      },
    }),
    route({
      method: 'GET',
      path: `${ENV}/blocks/{block}/logs`,
      response: instanceLineSchema,
      list: true,
      followCursor: true,
      summary:
        "A block's instance log: output not attached to a request, and platform events (?q, ?from, ?to, ?limit, ?before, ?after; locally ?follow=true streams)",
      tag: 'logs',
      status: 200,
      query: ['limit', 'q', 'from', 'to', 'before', 'after', 'follow'],
      handle: async ({ ctx, params, query }) => {
        if (query.follow !== undefined && query.follow !== 'false') {
          throw badRequest(
            'FOLLOW_NOT_SUPPORTED',
            'This server cannot stream (server-sent events need the local platform). Poll instead: repeat the request with ?after=<followCursor from the previous answer> every few seconds.',
          );
        }
        const logsCtx = await withLogs(ctx);
        const q = parseInstanceLogQuery(query);
        const target = await blockLogTarget(logsCtx, params.project, params.env, params.block);
        const page = await listBlockLogs(logsCtx, target, q);
        return jsonResponse(200, {
          data: page.items.map(instanceLineView),
          nextCursor: page.nextCursor ?? null,
          followCursor: page.followCursor,
        });
      },
    }),
    route({
      method: 'GET',
      path: `${ENV}/metrics`,
      response: metricsSchema,
      summary:
        'Per block per minute: requests, 4xx, 5xx, p50/p95/p99 duration, cold starts/wakes (?from, ?to; default the last hour, at most 24 h)',
      tag: 'logs',
      status: 200,
      query: ['from', 'to'],
      handle: async ({ ctx, params, query }) => ok(await getMetrics(await withLogs(ctx), params.project, params.env, query)),
    }),
  ];
}
