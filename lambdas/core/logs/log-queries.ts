import type { CoreContext } from '../context';
import { badRequest, notFound } from '../errors';
import { requireBlock, requireEnvironment, requireProject } from '../lookups';
import { assertName } from '../names';
import type { Block, Environment } from '../model';
import type { LogCursor, LogPage, LogStore } from '../../ports/log-store';
import { encodeLogCursor, parseLogCursor, parseTime } from './log-cursor';
import type { AccessRecord, ConsoleLineRecord, InstanceLineRecord } from './log-records';
import { summarizeMetrics, type MetricsSummary } from './metrics-summary';
import { isRequestId } from './request-id';

/** What the log queries act through: the state store (names -> ids), the clock and the log index. */
export type LogsContext = CoreContext & { readonly logs: LogStore };

type Query = Readonly<Record<string, string | undefined>>;

export const DEFAULT_LOG_LIMIT = 100;
export const MAX_LOG_LIMIT = 1000;
/** Widest metrics window: a day is 1,440 minutes per block. */
export const MAX_METRICS_SPAN_MS = 24 * 3600_000;
export const DEFAULT_METRICS_SPAN_MS = 3600_000;

export interface RequestList {
  readonly items: AccessRecord[];
  /** Pass as `?before=` for the next (older) page; absent at the end. */
  readonly nextCursor?: string;
}

/** `GET .../environments/{env}/requests`: the last requests, newest first. */
export async function listRequests(ctx: LogsContext, project: string, envName: string, query: Query): Promise<RequestList> {
  allowOnly(query, ['limit', 'block', 'status', 'before']);
  const env = await environmentOf(ctx, project, envName);
  const limit = parseLimit(query.limit);
  const block = query.block === undefined ? undefined : assertName('block', query.block);
  const status = query.status === undefined ? undefined : parseStatus(query.status);
  const before = query.before === undefined ? undefined : parseLogCursor(query.before, 'before', 'before');
  const page = await ctx.logs.listRequests({ envId: env.id, limit, block, status, before, now: nowSeconds(ctx) });
  return { items: page.items, ...(page.next ? { nextCursor: encodeLogCursor(page.next) } : {}) };
}

export interface RequestDetail {
  readonly requestId: string;
  readonly access?: AccessRecord;
  readonly lines: ConsoleLineRecord[];
}

/** `GET .../environments/{env}/requests/{requestId}`: the access entry and its console lines, in order. */
export async function getRequest(ctx: LogsContext, project: string, envName: string, requestId: string): Promise<RequestDetail> {
  const env = await environmentOf(ctx, project, envName);
  if (!isRequestId(requestId)) {
    throw badRequest(
      'INVALID_REQUEST_ID',
      'A request id is the kinto-request-id header of a response (letters, digits and . _ : = + / -, up to 128).',
    );
  }
  const found = await ctx.logs.getRequest(env.id, requestId, nowSeconds(ctx));
  if (!found.access && found.lines.length === 0) {
    throw notFound(
      'REQUEST_NOT_FOUND',
      `Environment "${env.name}" has no request ${requestId} in its logs: it may be older than the retention, or not indexed yet (on AWS, allow a few seconds).`,
    );
  }
  return { requestId, ...(found.access ? { access: found.access } : {}), lines: found.lines };
}

export interface BlockLogTarget {
  readonly env: Environment;
  readonly block: Block;
}

/** The environment and block a block-log request names (404 when either is missing). */
export async function blockLogTarget(ctx: LogsContext, projectName: string, envName: string, blockName: string): Promise<BlockLogTarget> {
  const project = await requireProject(ctx, projectName);
  const [env, block] = await Promise.all([requireEnvironment(ctx, project, envName), requireBlock(ctx, project, blockName)]);
  return { env, block };
}

export interface InstanceLogQuery {
  readonly limit: number;
  readonly order: 'newest' | 'oldest';
  readonly from?: string;
  readonly to?: string;
  readonly before?: LogCursor;
  readonly after?: LogCursor;
  readonly search?: string;
}

export const BLOCK_LOG_PARAMS = ['limit', 'q', 'from', 'to', 'before', 'after', 'follow'] as const;

/** Validates the query of `GET .../blocks/{block}/logs` (shared by the API and the local follow stream). */
export function parseInstanceLogQuery(query: Query): InstanceLogQuery {
  allowOnly(query, BLOCK_LOG_PARAMS);
  if (query.before !== undefined && query.after !== undefined) {
    throw badRequest('INVALID_QUERY', 'Use ?before= (page back to older lines) or ?after= (newer lines, for polling), not both.');
  }
  const from = query.from === undefined ? undefined : requireTime(query.from, 'from');
  const to = query.to === undefined ? undefined : requireTime(query.to, 'to');
  if (from && to && from > to) throw badRequest('INVALID_QUERY', `?from= (${from}) is after ?to= (${to}); swap them.`);
  const q = query.q;
  if (q !== undefined && (q.length === 0 || q.length > 256))
    throw badRequest('INVALID_QUERY', '?q= takes the text to search for, 1 to 256 characters.');
  const after = query.after === undefined ? undefined : parseLogCursor(query.after, 'after', 'after');
  return {
    limit: parseLimit(query.limit),
    order: after ? 'oldest' : 'newest',
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(query.before !== undefined ? { before: parseLogCursor(query.before, 'before', 'before') } : {}),
    ...(after ? { after } : {}),
    ...(q !== undefined ? { search: q.toLowerCase() } : {}),
  };
}

export interface InstanceLogPage {
  readonly items: InstanceLineRecord[];
  /** `?before=` for older lines (newest-first listings), when there are more. */
  readonly nextCursor?: string;
  /** `?after=` to poll for lines newer than everything returned so far. */
  readonly followCursor: string;
}

/** `GET .../environments/{env}/blocks/{block}/logs`: the block's plain instance log. */
export async function listBlockLogs(ctx: LogsContext, target: BlockLogTarget, q: InstanceLogQuery): Promise<InstanceLogPage> {
  const page: LogPage<InstanceLineRecord> = await ctx.logs.listInstanceLines({
    envId: target.env.id,
    block: target.block.name,
    ...q,
    now: nowSeconds(ctx),
  });
  const newest = q.order === 'newest' ? page.items[0] : page.items[page.items.length - 1];
  const follow: LogCursor = newest
    ? { time: newest.time, key: newest.seq }
    : (q.after ?? { time: ctx.clock.now().toISOString(), key: '~' });
  return {
    items: page.items,
    ...(page.next && q.order === 'newest' ? { nextCursor: encodeLogCursor(page.next) } : {}),
    // Polling with after: a stop on the scan budget resumes from there, not from the last line.
    followCursor: encodeLogCursor(q.order === 'oldest' && page.next ? page.next : follow),
  };
}

/** `GET .../environments/{env}/metrics?from&to`: per block per minute. */
export async function getMetrics(ctx: LogsContext, project: string, envName: string, query: Query): Promise<MetricsSummary> {
  allowOnly(query, ['from', 'to']);
  const env = await environmentOf(ctx, project, envName);
  const now = ctx.clock.now().getTime();
  const to = query.to === undefined ? new Date(now).toISOString() : requireTime(query.to, 'to');
  const from =
    query.from === undefined ? new Date(Date.parse(to) - DEFAULT_METRICS_SPAN_MS).toISOString() : requireTime(query.from, 'from');
  if (from > to) throw badRequest('INVALID_QUERY', `?from= (${from}) is after ?to= (${to}); swap them.`);
  if (Date.parse(to) - Date.parse(from) > MAX_METRICS_SPAN_MS) {
    throw badRequest('INVALID_QUERY', 'Ask for at most 24 hours of metrics at a time (?from= and ?to= at most 24 h apart).');
  }
  const rows = await ctx.logs.listMetrics(env.id, from.slice(0, 16), to.slice(0, 16), Math.floor(now / 1000));
  return summarizeMetrics(rows, from, to);
}

async function environmentOf(ctx: LogsContext, projectName: string, envName: string): Promise<Environment> {
  const project = await requireProject(ctx, projectName);
  return requireEnvironment(ctx, project, envName);
}

const nowSeconds = (ctx: LogsContext): number => Math.floor(ctx.clock.now().getTime() / 1000);

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOG_LIMIT;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_LOG_LIMIT))
    throw badRequest('INVALID_QUERY', `?limit= takes a whole number from 1 to ${MAX_LOG_LIMIT} (default ${DEFAULT_LOG_LIMIT}).`);
  return n;
}

/** `500` (exact), `5xx` (class) or `error` (400 and up). */
function parseStatus(value: string): { min: number; max: number } {
  if (/^[1-5]\d\d$/.test(value)) return { min: Number(value), max: Number(value) };
  const cls = /^([1-5])xx$/i.exec(value);
  if (cls) return { min: Number(cls[1]) * 100, max: Number(cls[1]) * 100 + 99 };
  if (value === 'error') return { min: 400, max: 599 };
  throw badRequest('INVALID_QUERY', '?status= takes a code (404), a class (2xx, 4xx, 5xx) or "error" (400 and up).');
}

function requireTime(value: string, param: string): string {
  const t = parseTime(value);
  if (t === undefined)
    throw badRequest('INVALID_QUERY', `?${param}= takes a time: ISO-8601 with a zone (2025-01-31T12:00:00Z) or epoch milliseconds.`);
  return t;
}

function allowOnly(query: Query, allowed: readonly string[]): void {
  for (const k of Object.keys(query)) {
    if (!allowed.includes(k))
      throw badRequest(
        'INVALID_QUERY',
        `Unknown query parameter "${k.slice(0, 64)}"; this listing takes ${allowed.map((a) => `?${a}=`).join(', ')}.`,
      );
  }
}
