import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize, parseCredentials, type TokenSettings } from '../../core/auth/authorize';
import { CLIENT_ID_PATTERN } from '../../core/auth/clients';
import { FailureLimiter, type FailureLimiterOptions } from '../../core/auth/failure-limiter';
import type { CoreContext } from '../../core/context';
import { isKintoError, KintoError } from '../../core/errors';
import type { GatewayRouteHandler } from './gateway';
import { readBody } from '../servers/read-body';

/** An HTTP answer as data, so that it can be made on one thread and written on another. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Answers `POST <gateway URL>/authorize` for a request's parsed JSON body. */
export type AuthorizeAnswerer = (envId: string, body: unknown, requestId: string) => Promise<HttpAnswer>;

export interface AuthorizeAnswererOptions {
  /** The core's ports. */
  readonly ctx: () => CoreContext;
  readonly tokens: TokenSettings;
  /** Failed `/authorize` attempts allowed per client id. @default 5 per minute */
  readonly limiter?: FailureLimiterOptions;
}

/** Largest `/authorize` body read. */
const MAX_AUTHORIZE_BODY = 16 * 1024;

/**
 * `POST <gateway URL>/authorize`: exchanges client credentials for a token, with failures
 * rate-limited per client id (429 + Retry-After). Runs where the store is (the control plane);
 * `authorizeRoute` is its face in the gateway.
 */
export function createAuthorizeAnswerer(options: AuthorizeAnswererOptions): AuthorizeAnswerer {
  const limiter = new FailureLimiter(options.limiter);
  return async (envId, body, requestId) => {
    try {
      const credentials = parseCredentials(body);
      const limitKey = `${envId}:${credentials.clientId.slice(0, 64)}`;
      const wait = limiter.retryAfterSeconds(limitKey);
      if (wait > 0) {
        return json(
          429,
          { error: { code: 'TOO_MANY_ATTEMPTS', message: `Too many failed attempts for this client id; retry in ${wait} s.`, requestId } },
          { 'retry-after': String(wait) },
        );
      }
      try {
        const issued = await authorize(options.ctx(), envId, credentials, options.tokens);
        limiter.succeeded(limitKey);
        return json(200, { data: issued });
      } catch (e) {
        // Only failures against a real client count: invented ids guess nothing, and counting them
        // would let anyone flood the limiter's table and push a real client's count out of it.
        if (isKintoError(e) && e.status === 401 && CLIENT_ID_PATTERN.test(credentials.clientId)) {
          if (await options.ctx().store.clients.get({ envId, clientId: credentials.clientId })) limiter.failed(limitKey);
        }
        throw e;
      }
    } catch (e) {
      if (isKintoError(e)) return errorAnswer(e, requestId);
      console.error(JSON.stringify({ level: 'error', message: 'authorize failed', requestId, error: String((e as Error)?.stack ?? e) }));
      return internalError(requestId);
    }
  };
}

/**
 * The gateway's route for `POST /authorize`: reads the small JSON body (413 past 16 KB, 400 when
 * it does not parse, both from `parseCredentials`), has `answer` decide, writes the answer.
 */
export function authorizeRoute(answer: AuthorizeAnswerer): GatewayRouteHandler {
  return (envId, path, req, res, requestId) => {
    if (path !== '/authorize' || req.method !== 'POST') return false;
    readJson(req)
      .then(
        (body) => answer(envId, body, requestId),
        (e) => (isKintoError(e) ? errorAnswer(e, requestId) : internalError(requestId)),
      )
      .then(
        (a) => send(res, a),
        () => send(res, internalError(requestId)),
      );
    return true;
  };
}

function errorAnswer(e: KintoError, requestId: string): HttpAnswer {
  // A 413's body is drained by readBody, so the connection may stay; a stalled one is closed.
  const extra: Record<string, string> =
    e.status === 401 ? { 'www-authenticate': 'Bearer realm="kinto"' } : e.status === 408 ? { connection: 'close' } : {};
  return json(e.status, { error: { code: e.code, message: e.message, ...(e.status >= 500 ? { requestId } : {}) } }, extra);
}

const internalError = (requestId: string): HttpAnswer =>
  json(500, {
    error: {
      code: 'INTERNAL',
      message: `Something went wrong in the gateway. Quote request id ${requestId} when you report it.`,
      requestId,
    },
  });

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer => ({
  status,
  headers,
  body: JSON.stringify(body),
});

function send(res: ServerResponse, a: HttpAnswer): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(a.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(a.body),
    'cache-control': 'no-store',
    ...a.headers,
  });
  res.end(a.body);
}

/** Reads a small JSON body; 413 past the limit; `undefined` when it does not parse. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_AUTHORIZE_BODY);
  if (body === 'too-large')
    throw new KintoError(413, 'PAYLOAD_TOO_LARGE', `Send {"clientId": "...", "secret": "..."}: at most ${MAX_AUTHORIZE_BODY} bytes.`);
  if (body === 'timed-out')
    throw new KintoError(
      408,
      'BODY_TIMEOUT',
      'The request body did not arrive in time; send {"clientId": "...", "secret": "..."} at once.',
    );
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
