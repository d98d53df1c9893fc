import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { Pool } from 'undici';
import { isPublicRoute } from '../../handlers/api/public-routes';
import { assertAdmin } from '../../handlers/http/admin-auth';
import { HOP_BY_HOP_HEADERS } from '../../handlers/http/hop-by-hop';
import { toErrorResponse } from '../../handlers/http/http-errors';
import { MAX_BODY_BYTES } from '../../handlers/http/json-body';
import { errorResponse, type HttpResult } from '../../handlers/http/response';
import { writeApiGatewayResult } from './apigw-event';
import { parseStreamRequest } from './stream-request';
import { bodyTimedOut, discardBody, hasBody, readBody, tooLarge } from './read-body';

export interface PublicServerOptions {
  /** `/gw/<env id>/<rest>`: the environment's gateway (`rest` without the query). */
  readonly gateway: (req: IncomingMessage, res: ServerResponse, envId: string, rest: string) => void;
  /** Everything else: the control API, its streams and the console (see `forwardToControl`). */
  readonly control: (req: IncomingMessage, res: ServerResponse) => void;
  /** Upgrade requests (WebSockets) to `/gw/<env id>/<rest>`; others are refused. */
  readonly upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer, envId: string, rest: string) => void;
}

const GATEWAY_PREFIX = '/gw/';
const ENV_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The platform's one port (`KINTO_PORT`): `/gw/<env id>/...` the environments' gateways, served
 * here; any other path (`/v1/...` the control API, `/` the console) goes to the control plane.
 */
export function createPublicServer(options: PublicServerOptions): Server {
  const server = createServer((req, res) => {
    const target = gatewayTarget(req.url ?? '/');
    if (target) return options.gateway(req, res, target.envId, target.rest);
    return options.control(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = gatewayTarget(req.url ?? '/');
    if (target && options.upgrade) return options.upgrade(req, socket, head, target.envId, target.rest);
    socket.on('error', () => undefined);
    const body = JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only gateway URLs (/gw/<env id>/<block>/...) take upgrades.' } });
    socket.end(
      `HTTP/1.1 404 Not Found\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** `/gw/<env id>[/<rest>][?query]`, cut by position (every gateway request passes here): the environment and `rest` without the query. */
function gatewayTarget(url: string): { envId: string; rest: string } | undefined {
  if (!url.startsWith(GATEWAY_PREFIX)) return undefined;
  const query = url.indexOf('?');
  const end = query < 0 ? url.length : query;
  const slash = url.indexOf('/', GATEWAY_PREFIX.length);
  const idEnd = slash < 0 || slash > end ? end : slash;
  const envId = url.slice(GATEWAY_PREFIX.length, idEnd);
  return ENV_ID.test(envId) ? { envId, rest: idEnd === end ? '/' : url.slice(idEnd, end) } : undefined;
}

/** Headers of one hop only: never forwarded either way (a request's `content-length` is set again for the body as read). */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'content-length']);

export interface ForwardToControlOptions {
  /** Checked here before a request's body is read or a log stream opened (public routes excepted). */
  readonly adminToken: string;
  /** Log follow streams open at once; past it, 429. @default 32 */
  readonly maxFollowStreams?: number;
}

/**
 * Forwards requests to the control server on `port` (loopback) and streams its answers back (log
 * follow streams included: no timeouts). A request with a body needs the admin token (checked
 * before the body is read), then its body is read here, up to the control API's limit (413 past
 * it, as the API answers) and within a time (408), so the control server always gets it whole.
 * Log follow streams, which last as long as someone watches, get connections of their own, up to
 * `maxFollowStreams`: they never hold the connections API calls need.
 */
export function forwardToControl(
  port: number,
  options: ForwardToControlOptions,
): { forward: (req: IncomingMessage, res: ServerResponse) => void; close: () => Promise<void> } {
  const origin = `http://127.0.0.1:${port}`;
  const maxStreams = options.maxFollowStreams ?? 32;
  const api = new Pool(origin, { connections: 64, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const streams = new Pool(origin, { connections: maxStreams, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  let following = 0;
  const adminToken = () => options.adminToken;

  function send(pool: Pool, req: IncomingMessage, res: ServerResponse, body: Buffer | null): void {
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, req.rawHeaders[i + 1]);
    }
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    pool.stream(
      { path: req.url ?? '/', method: req.method ?? 'GET', headers, body, signal: abort.signal, opaque: res },
      ({ statusCode, headers: answer }): Writable => {
        const out: (string | string[])[] = [];
        for (const name in answer) if (!HOP_BY_HOP.has(name) || name === 'content-length') out.push(name, answer[name]!);
        res.writeHead(statusCode, out);
        return res;
      },
      (err) => {
        if (!err || abort.signal.aborted) return;
        if (res.headersSent) return void res.destroy();
        writeApiGatewayResult(
          res,
          errorResponse(
            502,
            'CONTROL_PLANE_UNAVAILABLE',
            "The control plane did not answer; retry, and look at the platform's output if it persists.",
          ),
        );
      },
    );
  }

  function refuse(req: IncomingMessage, res: ServerResponse, answer: HttpResult): void {
    writeApiGatewayResult(res, answer);
    if (hasBody(req)) discardBody(req);
  }

  function afterAuth(req: IncomingMessage, res: ServerResponse, follow: boolean): void {
    let pool = api;
    if (follow) {
      if (following >= maxStreams) {
        return refuse(
          req,
          res,
          errorResponse(
            429,
            'TOO_MANY_LOG_STREAMS',
            `${maxStreams} log streams are open, the most Kinto serves at once: close one, or poll GET .../logs?after=<followCursor> instead.`,
            { 'retry-after': '10' },
          ),
        );
      }
      following++;
      res.once('close', () => following--);
      pool = streams;
    }
    if (!hasBody(req)) return send(pool, req, res, null);
    readBody(req, MAX_BODY_BYTES).then(
      (body) => (body === 'too-large' ? tooLarge(res) : body === 'timed-out' ? bodyTimedOut(res) : send(pool, req, res, body)),
      () => res.destroy(),
    );
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const follow = parseStreamRequest(req) !== undefined;
    // A body is read, and a stream opened, only for the admin: anyone else costs one comparison.
    if (!(follow || hasBody(req)) || isPublicRoute(req.method, req.url ?? '/')) return afterAuth(req, res, follow);
    assertAdmin(req.headers.authorization, adminToken).then(
      () => afterAuth(req, res, follow),
      (e) => refuse(req, res, toErrorResponse(e, 'local')),
    );
  }

  return { forward, close: async () => void (await Promise.all([api.close(), streams.close()])) };
}
