import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ApiHandler } from '../../handlers/api/create-api-handler';
import { isPublicRoute } from '../../handlers/api/public-routes';
import { assertAdmin, type AdminTokenSource } from '../../handlers/http/admin-auth';
import { toErrorResponse } from '../../handlers/http/http-errors';
import { MAX_BODY_BYTES } from '../../handlers/http/json-body';
import { errorResponse } from '../../handlers/http/response';
import { toApiGatewayEvent, writeApiGatewayResult } from './apigw-event';
import { bodyTimedOut, discardBody, hasBody, readBody, tooLarge } from './read-body';

export interface ControlServerOptions {
  readonly api: ApiHandler;
  readonly console: (req: IncomingMessage, res: ServerResponse) => void;
  /** Streaming API routes the Lambda-style handler cannot serve (log follow); false = not mine. */
  readonly streams?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * When given, a request with a body is refused (401) unless it carries the admin token, before
   * the body is read (public routes excepted). The platform's port checks it first anyway.
   * @default - the API handler checks the token once the body is read
   */
  readonly adminToken?: AdminTokenSource;
}

const LAMBDA_CONTEXT = { functionName: 'kinto-api', awsRequestId: 'local' } as never;

/**
 * The control plane's HTTP side, on a loopback port of its own: `/v1/...` the control API (the
 * same Lambda handler AWS runs, fed API Gateway v2 events) and its log streams, anything else the
 * console. Users reach it through the platform's port, whose server (public-server.ts, in the data
 * plane's thread) forwards every request that is not for a gateway.
 */
export function createControlServer(options: ControlServerOptions): Server {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?')) {
      if (options.streams?.(req, res)) return;
      return void serveApi(options, req, res);
    }
    return options.console(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

async function serveApi({ api, adminToken }: ControlServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  if (adminToken && hasBody(req) && !isPublicRoute(req.method, req.url ?? '/')) {
    try {
      await assertAdmin(req.headers.authorization, adminToken);
    } catch (e) {
      writeApiGatewayResult(res, toErrorResponse(e, requestId));
      return discardBody(req);
    }
  }
  // A body cut off mid-way (its caller left) has nobody to answer: close, rather than reject unhandled.
  const body = await readBody(req, MAX_BODY_BYTES).catch(() => undefined);
  if (body === undefined) return void res.destroy();
  if (body === 'too-large') return tooLarge(res);
  if (body === 'timed-out') return bodyTimedOut(res);
  try {
    const result = await api(toApiGatewayEvent(req, body, requestId), LAMBDA_CONTEXT);
    writeApiGatewayResult(res, result);
  } catch (e) {
    console.error(JSON.stringify({ level: 'error', message: 'api handler threw', requestId, error: String((e as Error)?.stack ?? e) }));
    writeApiGatewayResult(
      res,
      errorResponse(500, 'INTERNAL', `Something went wrong on Kinto's side. Quote request id ${requestId} when you report it.`),
    );
  }
}
