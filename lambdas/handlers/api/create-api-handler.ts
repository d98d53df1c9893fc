import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { CoreContext } from '../../core/context';
import { KintoError } from '../../core/errors';
import { assertAdmin, type AdminTokenSource } from '../http/admin-auth';
import { toErrorResponse } from '../http/http-errors';
import { header, readJsonBody } from '../http/json-body';
import type { HttpResult } from '../http/response';
import { API_VERSION, apiRoutes } from './api-routes';
import type { LogStoreSource } from './log-routes';
import { buildOpenApi } from './openapi';
import type { Route } from './routes';

export interface ApiHandlerOptions {
  /** The core's ports, or a function that builds them once on first use (for Lambda cold starts). */
  readonly context: CoreContext | (() => Promise<CoreContext>);
  readonly adminToken: AdminTokenSource;
  readonly version?: string;
  readonly log?: (line: string) => void;
  /** The log index (logs and metrics routes); without it those routes answer 503. */
  readonly logs?: LogStoreSource;
}

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

/**
 * The control API as one Lambda handler (API Gateway HTTP API, payload 2.0). The same handler
 * serves the local platform through its HTTP adapter.
 */
export function createApiHandler(options: ApiHandlerOptions): ApiHandler {
  const routes = apiRoutes(options.logs ?? (() => undefined), () => openApi);
  const openApi = buildOpenApi(routes, options.version ?? API_VERSION);
  let coreContext: Promise<CoreContext> | undefined;
  const core = (): Promise<CoreContext> =>
    (coreContext ??= typeof options.context === 'function' ? options.context() : Promise.resolve(options.context));

  const dispatch =
    (r: Route) =>
    async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
      if (!r.public) await assertAdmin(header(event.headers, 'authorization'), options.adminToken);
      const raw = readJsonBody(event);
      const body = r.body ? r.body.parse(raw) : undefined;
      if (!r.body && raw !== undefined && !isEmptyObject(raw))
        throw new KintoError(400, 'UNEXPECTED_BODY', `${r.method} ${r.path} takes no body; send the request without one.`);
      return r.handle({
        ctx: await core(),
        params: (event.pathParameters ?? {}) as Record<string, string>,
        query: event.queryStringParameters ?? {},
        headers: event.headers ?? {},
        body,
        requestId: requestIdOf(event),
      });
    };

  const router = httpRouterHandler({
    routes: routes.map((r) => ({ method: r.method, path: r.path, handler: dispatch(r) })),
    notFoundResponse: ({ method, path }: { method: string; path: string }) => {
      const allowed = routes.filter((r) => matches(r.path, path)).map((r) => r.method);
      if (allowed.length > 0) {
        throw Object.assign(
          new KintoError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on ${path}; use ${allowed.join(', ')}.`),
          { allow: allowed.join(', ') },
        );
      }
      throw new KintoError(
        404,
        'ROUTE_NOT_FOUND',
        `There is no ${method} ${path.slice(0, 200)}. The API is described at /v1/openapi.json.`,
      );
    },
  }) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

  return middy<APIGatewayProxyEventV2, HttpResult>()
    .onError(async (request) => {
      const result = toErrorResponse(request.error, requestIdOf(request.event), options.log);
      const allow = (request.error as { allow?: string } | null)?.allow;
      if (allow) result.headers.allow = allow;
      request.response = result;
    })
    .handler(router);
}

const isEmptyObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

const requestIdOf = (event: APIGatewayProxyEventV2): string => event.requestContext?.requestId ?? 'unknown';

const patternCache = new Map<string, RegExp>();
function matches(pattern: string, path: string): boolean {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/\{[^/]+\}/g, '[^/]+')}/?$`);
    patternCache.set(pattern, re);
  }
  return re.test(path);
}
