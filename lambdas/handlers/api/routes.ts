import { z } from 'zod';
import type { CoreContext } from '../../core/context';
import { badRequest } from '../../core/errors';
import type { ListOptions, Page } from '../../ports/store';
import { header } from '../http/json-body';
import { jsonResponse, type HttpResult } from '../http/response';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteRequest<B> {
  readonly ctx: CoreContext;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: B;
  readonly requestId: string;
}

export interface Route<B = unknown> {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** Status of a successful answer (documented in the OpenAPI document). */
  readonly status: number;
  /** When the route also answers 204 with no body: says when (documented beside `status`). */
  readonly noContentWhen?: string;
  /** Schema of the JSON body; a route without one takes no body. */
  readonly body?: z.ZodType<B>;
  /** Answered without the admin token. */
  readonly public?: boolean;
  /** Documented query parameters. */
  readonly query?: readonly string[];
  /** Schema of a successful answer's `data` (for the OpenAPI document); `list`: data is an array of it, with `nextCursor`. */
  readonly response?: z.ZodType;
  readonly list?: boolean;
  /** A list that also answers `followCursor` (where to poll from for lines that come later). */
  readonly followCursor?: boolean;
  handle(request: RouteRequest<B>): Promise<HttpResult>;
}

export const route = <B>(r: Route<B>): Route<unknown> => r;

export const ok = (data: unknown, headers?: Record<string, string>) => jsonResponse(200, { data }, headers);
export const created = (data: unknown, headers?: Record<string, string>) => jsonResponse(201, { data }, headers);
export const page = <T>(p: Page<T>, view: (item: T) => unknown) =>
  jsonResponse(200, { data: p.items.map(view), nextCursor: p.cursor ?? null });

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(2048).optional(),
});

export function listOptions(query: Readonly<Record<string, string | undefined>>): ListOptions {
  const parsed = listQuery.safeParse({ limit: query.limit, cursor: query.cursor });
  if (!parsed.success) throw badRequest('INVALID_QUERY', 'Use ?limit=<1..1000> and ?cursor=<nextCursor from the previous page>.');
  return parsed.data;
}

/** `If-Match: "3"` (or `3`) -> 3; absent -> undefined. */
export function ifMatch(headers: Readonly<Record<string, string | undefined>>): number | undefined {
  const value = header(headers, 'if-match');
  if (value === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(value);
  if (!match) throw badRequest('INVALID_IF_MATCH', 'If-Match takes the config revision from its ETag, e.g. If-Match: "3".');
  return Number(match[1]);
}

/** Path prefixes shared by the route files. */
export const P = '/v1/projects/{project}';
export const ENV = `${P}/environments/{env}`;
